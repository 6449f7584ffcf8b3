// gRPC server metrics, as go-grpc-prometheus names them (with our prefix): calls started, calls
// handled by status code, and handling time. A service implementation is wrapped method by method;
// a streaming call is counted when it ends (its status sent, an error emitted, or the client gone).
import * as grpc from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { GrpcService } from './grpc.ts';

type Labels = 'service' | 'method';

export interface GrpcServerMetrics {
  started: Counter<Labels>;
  handled: Counter<Labels | 'code'>;
  handling: Histogram<Labels>;
}

/** Status codes that are the server's fault (what the error-rate alert counts); client mistakes are not. */
export const SERVER_FAULT_CODES = ['UNKNOWN', 'DEADLINE_EXCEEDED', 'INTERNAL', 'UNAVAILABLE'] as const;

/** Code number → name as in the gRPC spec (OK, INVALID_ARGUMENT, …). */
export function codeName(code: number | undefined): string {
  const name = (grpc.status as unknown as Record<number, string | undefined>)[code ?? grpc.status.UNKNOWN];
  return name ?? 'UNKNOWN';
}

const byRegistry = new WeakMap<Registry, GrpcServerMetrics>();

/** The gRPC server metrics of `registry` (created once per registry: every server of a process shares them). */
export function grpcServerMetrics(registry: Registry): GrpcServerMetrics {
  const known = byRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const metrics: GrpcServerMetrics = {
    started: new Counter({
      name: 'stockify_grpc_server_started_total',
      help: 'gRPC calls started on the server, by service and method',
      labelNames: ['service', 'method'],
      registers,
    }),
    handled: new Counter({
      name: 'stockify_grpc_server_handled_total',
      help: 'gRPC calls completed on the server, by service, method and status code (streams when they end)',
      labelNames: ['service', 'method', 'code'],
      registers,
    }),
    handling: new Histogram({
      name: 'stockify_grpc_server_handling_seconds',
      help: 'Time from the start of a gRPC call to its status, by service and method',
      labelNames: ['service', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}

/** `/stockify.v1.MarketData/GetLatest` → service and method labels. */
function labelsOf(path: string): { service: string; method: string } {
  const [, service = '', method = ''] = path.split('/');
  return { service, method };
}

type AnyHandler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => void;

/**
 * The service with every method counted in `metrics`. Series of each method are created at 0 for OK
 * and the server-fault codes, so rates and ratios read 0 before the first call, not "no data".
 */
export function withGrpcMetrics(service: GrpcService, metrics: GrpcServerMetrics): GrpcService {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(service.definition)) {
    // grpc-js looks a handler up by the proto's name, then by proto-loader's camelCase originalName.
    const handler = (service.implementation[name] ?? service.implementation[def.originalName ?? '']) as AnyHandler | undefined;
    if (!handler) continue;
    const labels = labelsOf(def.path);
    metrics.started.inc(labels, 0);
    metrics.handling.zero(labels);
    for (const code of ['OK', ...SERVER_FAULT_CODES]) metrics.handled.inc({ ...labels, code }, 0);
    const wrapped: AnyHandler = (call, callback) => {
      metrics.started.inc(labels);
      const done = metrics.handling.startTimer(labels);
      let ended = false;
      const end = (code: string): void => {
        if (ended) return;
        ended = true;
        done();
        metrics.handled.inc({ ...labels, code });
      };
      call.once('cancelled', () => end('CANCELLED'));
      if (def.responseStream) {
        const stream = call as grpc.ServerWritableStream<unknown, unknown>;
        stream.once('error', (err: Partial<grpc.ServiceError>) => end(codeName(err.code)));
        stream.once('finish', () => end('OK'));
      }
      const reply: grpc.sendUnaryData<unknown> | undefined =
        callback &&
        ((err, value, trailer, flags) => {
          end(err ? codeName((err as Partial<grpc.ServiceError>).code) : 'OK');
          callback(err, value, trailer, flags);
        });
      try {
        handler(call, reply);
      } catch (err) {
        end('UNKNOWN');
        throw err;
      }
    };
    implementation[name] = wrapped as grpc.UntypedHandleCall;
  }
  return { ...service, implementation };
}
