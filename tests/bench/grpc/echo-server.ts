// The reference of the gRPC load bench: a trivial grpc-js server whose one unary method answers
// with the request's bytes (no parsing, no I/O). Whatever our server costs beyond gRPC itself shows
// as the ratio between the two, measured by the same load client in the same run. With a worker
// count above 1 it runs that many processes sharing the port (node:cluster): the most gRPC a
// machine's cores can answer with grpc-js, whatever the server does per call.
//   node tests/bench/grpc/echo-server.ts [port] [workers]   prints "listening <port>" once bound
import cluster from 'node:cluster';
import * as grpc from '@grpc/grpc-js';
import { ECHO_METHOD } from './load.ts';

const identity = (b: Buffer): Buffer => b;

const definition: grpc.ServiceDefinition = {
  Echo: {
    path: ECHO_METHOD,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const PORT = Number(process.argv[2] ?? 0);
const WORKERS = Number(process.argv[3] ?? 1);

function serve(): void {
  const server = new grpc.Server();
  server.addService(definition, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
  });
  server.bindAsync(`127.0.0.1:${PORT}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`echo server: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`listening ${port}\n`);
  });
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}

if (WORKERS > 1 && cluster.isPrimary) {
  if (PORT === 0) throw new Error('echo server: workers share a port, so give one');
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  serve();
}
