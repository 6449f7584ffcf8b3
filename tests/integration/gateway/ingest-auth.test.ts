// spec.auth on gRPC Ingest: a running `stockify ingestion` with AUTH_HS256_SECRET refuses
// PublishTicks without a token (UNAUTHENTICATED) and with a token lacking 'ingest'
// (PERMISSION_DENIED), and accepts the ticks of a token that has it (real broker).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as jose from 'jose';
import type { PublishTicksResponse, Tick } from '../../../services/core/messages.ts';
import { serviceClient } from '../../../services/core/proto.ts';
import { shardOf } from '../../../services/core/sharding.ts';
import { BROKERS, baseEnv, deleteTopics, runId, startIngestion, stopProcess, writeShardFile } from '../ingestion/helpers.ts';

const SECRET = 'ingest-auth-integration-secret-0123456789';
const feed = `gwauth-${runId()}`;
after(() => deleteTopics(BROKERS, feed));
const own = ['1333', '2885', '11536', '1594', '4963'].find((s) => shardOf(`NSE_EQ:${s}`, 1) === 0) ?? '1333';

const token = (scope: string) =>
  new jose.SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('stockify')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));

function publish(address: string, bearer?: string): Promise<PublishTicksResponse> {
  const Ingest = serviceClient('Ingest');
  const client = new Ingest(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (bearer) md.set('authorization', `Bearer ${bearer}`);
  const t: Partial<Tick> = {
    instrument: { id: `NSE_EQ:${own}`, symbol: `S${own}`, segment: 'NSE_EQ', securityId: own },
    exchangeTimeMs: Date.now() - 1000,
    seq: 1,
    lastPrice: 100.5,
    lastQuantity: 1,
    volume: 1,
  };
  return new Promise<PublishTicksResponse>((resolve, reject) => {
    client.waitForReady(Date.now() + 30_000, (readyErr?: Error) => {
      if (readyErr) return reject(readyErr);
      const call = (
        client as unknown as Record<
          string,
          (m: grpc.Metadata, cb: (e: Error | null, r: PublishTicksResponse) => void) => grpc.ClientWritableStream<unknown>
        >
      ).PublishTicks?.call(client, md, (err, res) => (err ? reject(err) : resolve(res)));
      if (!call) return reject(new Error('no PublishTicks method'));
      call.write(t);
      call.end();
    });
  }).finally(() => client.close());
}

describe('gRPC Ingest with spec.auth', () => {
  test("PublishTicks needs a token with scope 'ingest'", { timeout: 120_000 }, async () => {
    const recording = join(mkdtempSync(join(tmpdir(), 'stockify-gwauth-')), 'empty.jsonl');
    writeFileSync(recording, '# nothing recorded\n');
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'replay', path: recording, speed: 0 },
      kafka: { partitionsPerShard: 1, replicationFactor: 1 },
      instruments: [{ symbol: `S${own}`, securityId: own, segment: 'NSE_EQ', kind: 'equity' }],
    });
    const env: Record<string, string> = { ...(await baseEnv(feed, 0, 1, file)), AUTH_HS256_SECRET: SECRET };
    const proc = startIngestion(env);
    try {
      const address = `127.0.0.1:${env.GRPC_PORT}`;
      await assert.rejects(publish(address), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
      await assert.rejects(
        publish(address, await token('read stream')),
        (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED,
      );
      const ok = await publish(address, await token('ingest'));
      assert.equal(ok.accepted, 1);
    } finally {
      await stopProcess(proc);
    }
  });
});
