import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type RunningGrpcServer, startGrpcServer } from '../../../services/core/grpc.ts';
import { serviceClient, serviceDefinition } from '../../../services/core/proto.ts';

const require = createRequire(import.meta.url);
const healthProto = require.resolve('grpc-health-check/proto/health/v1/health.proto');
const reflectionProto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');

function load(file: string, ...path: string[]): grpc.ServiceClientConstructor {
  let obj: unknown = grpc.loadPackageDefinition(
    protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true }),
  );
  for (const p of path) obj = (obj as Record<string, unknown>)[p];
  return obj as grpc.ServiceClientConstructor;
}

// Untyped clients from proto-loader: look a method up by name.
// biome-ignore lint/suspicious/noExplicitAny: callback shapes vary per method; the assertions check the results.
type Method = (...args: any[]) => any;
function method(client: grpc.Client, name: string): Method {
  const fn = (client as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`no method ${name}`);
  return (fn as Method).bind(client);
}

describe('gRPC server helper', () => {
  let running: RunningGrpcServer;
  let address: string;
  let releaseSlowCall: (() => void) | undefined;

  before(async () => {
    running = await startGrpcServer({
      port: 0,
      host: '127.0.0.1',
      services: [
        {
          name: 'stockify.v1.Shard',
          definition: serviceDefinition('Shard'),
          implementation: {
            GetStatus: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
              // Answers only when the test lets it: an in-flight call during drain.
              releaseSlowCall = () => cb(null, { feed: 'nifty', component: 'test', shardIndex: 2 });
            },
          },
        },
      ],
    });
    address = `127.0.0.1:${running.port}`;
  });

  after(() => running.server.forceShutdown());

  test('answers grpc.health.v1 Check for the server and each service', async () => {
    const Health = load(healthProto, 'grpc', 'health', 'v1', 'Health');
    const client = new Health(address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        method(client, 'Check')({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res))),
      );
    assert.equal((await check('')).status, 'SERVING');
    assert.equal((await check('stockify.v1.Shard')).status, 'SERVING');
    await assert.rejects(check('no.such.Service'), /NOT_FOUND/);
    client.close();
  });

  test('reflection lists exactly the services this server registers, plus health and reflection', async () => {
    const Reflection = load(reflectionProto, 'grpc', 'reflection', 'v1', 'ServerReflection');
    const client = new Reflection(address, grpc.credentials.createInsecure());
    const call = method(client, 'ServerReflectionInfo')();
    const response = await new Promise<{ list_services_response: { service: { name: string }[] } }>((resolve, reject) => {
      call.on('data', resolve);
      call.on('error', reject);
      call.write({ list_services: '*' });
    });
    call.end();
    const names = response.list_services_response.service.map((s) => s.name);
    // Only Shard is registered here: MarketData and Ingest must not be advertised.
    assert.deepEqual(names.sort(), [
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'stockify.v1.Shard',
    ]);
    client.close();
  });

  test('drain lets an in-flight call finish, then refuses new ones', async () => {
    const Shard = serviceClient('Shard');
    const client = new Shard(address, grpc.credentials.createInsecure());
    const inFlight = new Promise<{ shardIndex: number }>((resolve, reject) =>
      method(client, 'GetStatus')({}, (err: Error | null, res: { shardIndex: number }) => (err ? reject(err) : resolve(res))),
    );
    while (!releaseSlowCall) await new Promise((r) => setTimeout(r, 10));
    const drained = running.drain(5_000);
    releaseSlowCall();
    assert.equal((await inFlight).shardIndex, 2);
    await drained;
    const late = new Promise((resolve, reject) =>
      method(client, 'GetStatus')({}, { deadline: Date.now() + 1_000 }, (err: Error | null, res: unknown) =>
        err ? reject(err) : resolve(res),
      ),
    );
    await assert.rejects(late, /UNAVAILABLE|DEADLINE_EXCEEDED/);
    client.close();
  });
});
