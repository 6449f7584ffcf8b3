// gRPC server plumbing: grpc.health.v1 and server reflection on every server, and a graceful
// drain on SIGTERM (in-flight calls finish, new ones are refused, forced after a deadline).
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Registry } from 'prom-client';
import { grpcServerMetrics, withGrpcMetrics } from './grpc-metrics.ts';
import type { Logger } from './log.ts';
import type { ShardStatus } from './messages.ts';
import { PLUMBING_SERVICES, reflectionDefinition, serviceDefinition } from './proto.ts';

export interface GrpcService {
  /** Fully qualified name for health, e.g. "stockify.v1.MarketData". */
  name: string;
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export interface RunningGrpcServer {
  server: grpc.Server;
  port: number;
  health: HealthImplementation;
  setServing(serving: boolean): void;
  /** Stops accepting calls, lets in-flight ones finish up to the deadline, then forces. */
  drain(deadlineMs?: number): Promise<void>;
}

export async function startGrpcServer(opts: {
  port: number;
  host?: string;
  services: GrpcService[];
  log?: Logger;
  /** Where the gRPC server metrics go (stockify_grpc_server_*); none when unset. */
  registry?: Registry;
}): Promise<RunningGrpcServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  const status: Record<string, ServingStatus> = { '': 'SERVING' };
  for (const s of opts.services) {
    const counted = opts.registry ? withGrpcMetrics(s, grpcServerMetrics(opts.registry)) : s;
    server.addService(counted.definition, counted.implementation);
    status[s.name] = 'SERVING';
  }
  const health = new HealthImplementation(status);
  health.addToServer(server);
  // Reflection lists what this server serves (never Ingest where it is not implemented), in proto/'s names.
  const served = [...opts.services.map((s) => s.name), ...PLUMBING_SERVICES];
  new ReflectionService(reflectionDefinition(), { services: served }).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host ?? '0.0.0.0'}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(new Error(`gRPC: cannot listen on port ${opts.port}: ${err.message}`)) : resolve(bound),
    );
  });
  opts.log?.info({ port, services: opts.services.map((s) => s.name) }, 'gRPC server listening');

  const setServing = (serving: boolean): void => {
    for (const name of Object.keys(status)) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
  };

  const drain = (deadlineMs = 10_000): Promise<void> =>
    new Promise<void>((resolve) => {
      setServing(false);
      const timer = setTimeout(() => {
        opts.log?.warn({ deadlineMs }, 'gRPC drain deadline passed; cancelling remaining calls');
        server.forceShutdown();
        resolve();
      }, deadlineMs);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  return { server, port, health, setServing, drain };
}

/** A gRPC error with a status code, for handlers to pass to their callback. */
export function grpcError(code: grpc.status, message: string): grpc.ServiceError {
  const err = new Error(message) as grpc.ServiceError;
  err.code = code;
  err.details = message;
  err.metadata = new grpc.Metadata();
  return err;
}

/** stockify.v1.Shard: every shard process answers GetStatus with what `status` says now. */
export function shardStatusService(status: () => ShardStatus): GrpcService {
  return {
    name: 'stockify.v1.Shard',
    definition: serviceDefinition('Shard'),
    implementation: {
      GetStatus: (_call: grpc.ServerUnaryCall<unknown, ShardStatus>, callback: grpc.sendUnaryData<ShardStatus>) => {
        callback(null, status());
      },
    },
  };
}
