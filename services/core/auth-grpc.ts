// The auth model on gRPC: MarketData and Ingest calls carry `authorization: Bearer <JWT>` metadata
// when spec.auth is set. UNAUTHENTICATED for a missing or invalid token, PERMISSION_DENIED for a
// valid one without the method's scope. Shard status, health and reflection stay open (probes).
import * as grpc from '@grpc/grpc-js';
import type { Authenticator, AuthOutcome, Scope } from './auth.ts';
import { type GrpcService, grpcError } from './grpc.ts';
import type { Logger } from './log.ts';

/** The scope each protected method needs; services not listed are served without a token. */
export const METHOD_SCOPES: Record<string, Record<string, Scope>> = {
  'stockify.v1.MarketData': {
    GetLatest: 'read',
    GetTicks: 'read',
    GetRecentTicks: 'read',
    GetBars: 'read',
    GetOptionChain: 'read',
    GetGaps: 'read',
    StreamQuotes: 'stream',
  },
  'stockify.v1.Ingest': { PublishTicks: 'ingest' },
};

/** The gRPC status of a refusal: 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED. */
export function refusalStatus(outcome: Extract<AuthOutcome, { ok: false }>): grpc.ServiceError {
  return grpcError(outcome.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, outcome.reason);
}

type AnyCall = { metadata: grpc.Metadata };
type Handler = (call: AnyCall, callback?: (err: grpc.ServiceError | null, value?: unknown) => void) => void;

/** `service` with every method of METHOD_SCOPES checked before its handler runs. */
export function withAuth(service: GrpcService, auth: Authenticator, log?: Logger): GrpcService {
  const scopes = METHOD_SCOPES[service.name];
  if (!scopes) return service;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(service.implementation)) {
    const scope = scopes[method];
    const def = service.definition[method];
    if (!scope || !def) {
      implementation[method] = handler;
      continue;
    }
    const inner = handler as unknown as Handler;
    const wrapped: Handler = (call, callback) => {
      const header = call.metadata.get('authorization')[0];
      auth.authenticate(typeof header === 'string' ? header : header?.toString(), scope).then(
        (outcome) => {
          if (outcome.ok) {
            inner(call, callback);
            return;
          }
          log?.info({ method, status: outcome.status, reason: outcome.reason }, 'gRPC call refused');
          const status = refusalStatus(outcome);
          if (callback) callback(status);
          else (call as unknown as grpc.ServerWritableStream<unknown, unknown>).emit('error', status);
        },
        (err: unknown) => {
          const status = grpcError(grpc.status.INTERNAL, `auth: ${(err as Error).message}`);
          if (callback) callback(status);
          else (call as unknown as grpc.ServerWritableStream<unknown, unknown>).emit('error', status);
        },
      );
    };
    implementation[method] = wrapped as unknown as grpc.UntypedHandleCall;
  }
  return { ...service, implementation };
}
