// The reference of the gRPC load bench: a trivial grpc-js server whose one unary method answers
// with the request's bytes (no parsing, no I/O). Whatever our server costs beyond gRPC itself shows
// as the ratio between the two, measured by the same load client in the same run.
//   node tests/bench/grpc/echo-server.ts [port]      prints "listening <port>" once bound
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

const server = new grpc.Server();
server.addService(definition, {
  Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
});
server.bindAsync(`127.0.0.1:${Number(process.argv[2] ?? 0)}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`echo server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
