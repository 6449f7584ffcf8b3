// Errors as RFC 9457 problem details (application/problem+json), naming the query or path field
// at fault; gRPC status codes of MarketData mapped to the HTTP status a client can act on.
import * as grpc from '@grpc/grpc-js';

export const PROBLEM_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request field at fault (query or path parameter name), when one is. */
  field?: string;
  instance?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function problem(status: number, detail: string, field?: string): Problem {
  return {
    type: `https://stockify.io/problems/${status}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(field ? { field } : {}),
  };
}

/** The HTTP status of a MarketData gRPC status code. */
export function httpStatusOf(code: grpc.status): number {
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
    case grpc.status.FAILED_PRECONDITION:
      return 400;
    case grpc.status.UNAUTHENTICATED:
      return 401;
    case grpc.status.PERMISSION_DENIED:
      return 403;
    case grpc.status.NOT_FOUND:
      return 404;
    case grpc.status.RESOURCE_EXHAUSTED:
      return 429;
    case grpc.status.CANCELLED:
      return 499;
    case grpc.status.UNAVAILABLE:
      return 503;
    case grpc.status.DEADLINE_EXCEEDED:
      return 504;
    case grpc.status.UNIMPLEMENTED:
      return 502;
    default:
      return 500;
  }
}

/** MarketData's proto field names → the gateway's parameter names. */
const FIELD_NAMES: Record<string, string> = {
  instrument: 'id',
  instruments: 'instruments',
  from_ms: 'from',
  to_ms: 'to',
  limit: 'limit',
  page_token: 'page_token',
  interval: 'interval',
  underlying: 'underlying',
  expiry: 'expiry',
};

/**
 * The request field a MarketData message names ("from_ms must be …", "expiry '2026-13-01' is …"),
 * as the gateway calls it; undefined when the message names none.
 */
export function fieldOf(message: string): string | undefined {
  const m = /^(\w+)\b/.exec(message.replace(/^[A-Z_]+: /, ''));
  return m?.[1] ? FIELD_NAMES[m[1]] : undefined;
}

/** A gRPC error from MarketData as a problem; non-gRPC errors are 500 with their message. */
export function problemOfGrpc(err: unknown): Problem {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'number') return problem(500, (err as Error).message ?? String(err));
  const detail = (err as grpc.ServiceError).details || (err as Error).message;
  const status = httpStatusOf(code);
  return problem(
    status,
    `MarketData ${grpc.status[code]}: ${detail}`,
    status === 400 || status === 404 ? fieldOf(detail) : undefined,
  );
}
