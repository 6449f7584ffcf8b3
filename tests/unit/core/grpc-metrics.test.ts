import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { grpcError, type RunningGrpcServer, startGrpcServer } from '../../../services/core/grpc.ts';
import { serviceClient, serviceDefinition } from '../../../services/core/proto.ts';

type Req = { instruments: string[] };

// The request's first id says how the handler ends.
const implementation = {
  GetTicks: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { ticks: [] }),
  GetLatest: (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    const how = call.request.instruments[0];
    if (how === 'bad') cb(grpcError(grpc.status.INVALID_ARGUMENT, 'instruments[0]: bad'));
    else if (how === 'boom') cb(grpcError(grpc.status.INTERNAL, 'database down'));
    else if (how === 'slow') setTimeout(() => cb(null, { snapshots: [] }), 60);
    else cb(null, { snapshots: [] });
  },
  StreamQuotes: (call: grpc.ServerWritableStream<Req, unknown>) => {
    const how = call.request.instruments[0];
    if (how === 'bad') call.emit('error', grpcError(grpc.status.INVALID_ARGUMENT, 'instruments: empty'));
    else if (how === 'ok') {
      call.write({ instrumentId: 'IDX_I:13' });
      call.end();
    }
    // 'hang': never ends; the client cancels.
  },
};

describe('gRPC server metrics', () => {
  const registry = new Registry();
  let running: RunningGrpcServer;
  let client: grpc.Client;

  before(async () => {
    running = await startGrpcServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      services: [{ name: 'stockify.v1.MarketData', definition: serviceDefinition('MarketData'), implementation }],
    });
    const MarketData = serviceClient('MarketData');
    client = new MarketData(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client.close();
    running.server.forceShutdown();
  });

  const call = (name: string) => (client as unknown as Record<string, (...a: unknown[]) => unknown>)[name]?.bind(client);

  const unary = (how: string): Promise<number> =>
    new Promise((resolve) => {
      call('GetLatest')?.({ instruments: [how] }, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0));
    });

  const stream = (how: string, cancelAfterMs?: number): Promise<number> =>
    new Promise((resolve) => {
      const s = call('StreamQuotes')?.({ instruments: [how] }) as grpc.ClientReadableStream<unknown>;
      s.on('data', () => {});
      s.on('error', (err: grpc.ServiceError) => resolve(err.code));
      s.on('end', () => resolve(0));
      if (cancelAfterMs !== undefined) setTimeout(() => s.cancel(), cancelAfterMs);
    });

  async function value(metric: string, labels: Record<string, string>): Promise<number | undefined> {
    const family = metric.replace(/_(count|bucket|sum)$/, '');
    const m = registry.getSingleMetric(family);
    assert.ok(m, `${family} is registered`);
    const { values } = await m.get();
    const hit = values.find(
      (v) =>
        ((v as { metricName?: string }).metricName ?? family) === metric &&
        Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x),
    );
    return hit?.value;
  }

  test('every method reads 0 before its first call (OK and the server-fault codes)', async () => {
    const labels = { service: 'stockify.v1.MarketData', method: 'GetTicks' };
    assert.equal(await value('stockify_grpc_server_started_total', labels), 0);
    for (const code of ['OK', 'INTERNAL', 'UNAVAILABLE', 'UNKNOWN', 'DEADLINE_EXCEEDED']) {
      assert.equal(await value('stockify_grpc_server_handled_total', { ...labels, code }), 0, code);
    }
    assert.equal(await value('stockify_grpc_server_handling_seconds_count', labels), 0);
  });

  test('a unary call of each code moves started, handled{code} and the latency histogram', async () => {
    assert.equal(await unary('ok'), grpc.status.OK);
    assert.equal(await unary('ok'), grpc.status.OK);
    assert.equal(await unary('bad'), grpc.status.INVALID_ARGUMENT);
    assert.equal(await unary('boom'), grpc.status.INTERNAL);
    assert.equal(await unary('slow'), grpc.status.OK);
    const labels = { service: 'stockify.v1.MarketData', method: 'GetLatest' };
    assert.equal(await value('stockify_grpc_server_started_total', labels), 5);
    assert.equal(await value('stockify_grpc_server_handled_total', { ...labels, code: 'OK' }), 3);
    assert.equal(await value('stockify_grpc_server_handled_total', { ...labels, code: 'INVALID_ARGUMENT' }), 1);
    assert.equal(await value('stockify_grpc_server_handled_total', { ...labels, code: 'INTERNAL' }), 1);
    assert.equal(await value('stockify_grpc_server_handling_seconds_count', labels), 5);
    // The 60 ms call is above the 50 ms bucket; the other four are below it.
    assert.equal(await value('stockify_grpc_server_handling_seconds_bucket', { ...labels, le: '0.05' }), 4);
    assert.equal(await value('stockify_grpc_server_handling_seconds_bucket', { ...labels, le: '0.1' }), 5);
  });

  test('a server stream is counted when it ends: OK, its error status, or CANCELLED by the client', async () => {
    const labels = { service: 'stockify.v1.MarketData', method: 'StreamQuotes' };
    assert.equal(await stream('ok'), grpc.status.OK);
    assert.equal(await stream('bad'), grpc.status.INVALID_ARGUMENT);
    assert.equal(await value('stockify_grpc_server_started_total', labels), 2);
    assert.equal(await stream('hang', 50), grpc.status.CANCELLED);
    assert.equal(await value('stockify_grpc_server_started_total', labels), 3);
    // The server learns of the cancel a moment after the client.
    for (let i = 0; i < 50 && (await value('stockify_grpc_server_handled_total', { ...labels, code: 'CANCELLED' })) !== 1; i++) {
      await sleep(10);
    }
    assert.equal(await value('stockify_grpc_server_handled_total', { ...labels, code: 'OK' }), 1);
    assert.equal(await value('stockify_grpc_server_handled_total', { ...labels, code: 'INVALID_ARGUMENT' }), 1);
    assert.equal(await value('stockify_grpc_server_handled_total', { ...labels, code: 'CANCELLED' }), 1);
    assert.equal(await value('stockify_grpc_server_handling_seconds_count', labels), 3);
  });
});
