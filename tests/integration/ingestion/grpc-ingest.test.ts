// gRPC Ingest.PublishTicks against a running `stockify ingestion` (shard 0 of 2, real broker): valid
// ticks land in the raw topic; a NaN price, an instrument of the other shard and a timestamp far
// from now are refused, with their reasons both in the response and in the dead-letter topic.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { DeadLetter, PublishTicksResponse, RawRecord, Tick } from '../../../services/core/messages.ts';
import { codec, serviceClient } from '../../../services/core/proto.ts';
import { shardOf } from '../../../services/core/sharding.ts';
import { dlqTopic, rawTopic } from '../../../services/core/topics.ts';
import { BROKERS, baseEnv, consumeAll, deleteTopics, runId, startIngestion, stopProcess, writeShardFile } from './helpers.ts';

const raw = codec<RawRecord>('RawRecord');
const dlq = codec<DeadLetter>('DeadLetter');
const tickCodec = codec<Tick>('Tick');
const feed = `grpc-${runId()}`;
after(() => deleteTopics(BROKERS, feed));

// NSE equities split by the shard function: shard 0's are listed, one of shard 1's is the foreigner.
const candidates = ['1333', '2885', '11536', '1594', '4963', '3045', '881', '10999', '1660', '5258'];
const own = candidates.filter((s) => shardOf(`NSE_EQ:${s}`, 2) === 0).slice(0, 2);
const foreign = candidates.find((s) => shardOf(`NSE_EQ:${s}`, 2) === 1) ?? '';

const tick = (securityId: string, price: number, timeMs: number, seq: number): Partial<Tick> => ({
  instrument: { id: `NSE_EQ:${securityId}`, symbol: `S${securityId}`, segment: 'NSE_EQ', securityId },
  exchangeTimeMs: timeMs,
  seq,
  lastPrice: price,
  lastQuantity: 10,
  volume: 1000 + seq,
});

function publish(address: string, ticks: Partial<Tick>[]): Promise<PublishTicksResponse> {
  const Ingest = serviceClient('Ingest');
  const client = new Ingest(address, grpc.credentials.createInsecure());
  return new Promise<PublishTicksResponse>((resolve, reject) => {
    client.waitForReady(Date.now() + 30_000, (readyErr?: Error) => {
      if (readyErr) return reject(readyErr);
      const call = (
        client as unknown as Record<
          string,
          (cb: (e: Error | null, r: PublishTicksResponse) => void) => grpc.ClientWritableStream<unknown>
        >
      ).PublishTicks?.call(client, (err, res) => (err ? reject(err) : resolve(res)));
      if (!call) return reject(new Error('no PublishTicks method'));
      for (const t of ticks) call.write(t);
      call.end();
    });
  }).finally(() => client.close());
}

describe('gRPC Ingest against a running ingestion shard and the real broker', () => {
  test('valid ticks land in Kafka; NaN price, foreign-shard instrument and far-off time are refused with reasons in the response and the DLQ', {
    timeout: 120_000,
  }, async () => {
    assert.equal(own.length, 2, 'two shard-0 instruments among the candidates');
    assert.ok(foreign, 'a shard-1 instrument among the candidates');
    // An (empty) replay keeps the source quiet: the gRPC stream is the only input.
    const recording = join(mkdtempSync(join(tmpdir(), 'stockify-grpc-')), 'empty.jsonl');
    writeFileSync(recording, '# nothing recorded\n');
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 2,
      source: { type: 'replay', path: recording, speed: 0 },
      kafka: { partitionsPerShard: 2, replicationFactor: 1 },
      instruments: own.map((s) => ({ symbol: `S${s}`, securityId: s, segment: 'NSE_EQ', kind: 'equity' })),
    });
    const env = await baseEnv(feed, 0, 2, file);
    const proc = startIngestion(env);
    try {
      const now = Date.now();
      const [a, b] = own as [string, string];
      const ticks = [
        tick(a, 1650.5, now - 2_000, 1),
        tick(b, 812.25, now - 1_900, 1),
        tick(a, 1650.75, now - 1_000, 2),
        tick(a, Number.NaN, now - 900, 3), // 3: NaN price
        tick(foreign, 99.5, now - 800, 1), // 4: the other shard's instrument
        tick(b, 813, now - 2 * 3600_000, 2), // 5: two hours off (default skew 600 s)
        tick(b, 813.5, now - 500, 3),
      ];
      const res = await publish(`127.0.0.1:${env.GRPC_PORT}`, ticks);
      assert.equal(res.accepted, 4);
      assert.equal(res.rejected, 3);
      assert.deepEqual(
        res.rejections.map((r) => [r.index, r.reason.split(':')[0]]),
        [
          [3, 'bad-price'],
          [4, 'not-in-shard'],
          [5, 'time-skew'],
        ],
      );
      assert.match(res.rejections[1]?.reason ?? '', new RegExp(`NSE_EQ:${foreign} belongs to shard 1`));

      // The response came after Kafka acknowledged the accepted ticks: they are there now.
      const messages = await consumeAll(BROKERS, rawTopic('itest', feed, 0), 4, 30_000);
      const got = messages.map((m) => {
        const r = raw.decode(m.value);
        assert.equal(r.payload, 'tick');
        const t = (r as Extract<RawRecord, { payload: 'tick' }>).tick;
        assert.equal(m.key, t.instrument.id);
        assert.equal(t.source, 'grpc');
        assert.ok(t.receivedTimeMs >= now, 'stamped with the time ingestion received it');
        return [t.instrument.id, t.lastPrice, t.seq] as const;
      });
      const sorted = (xs: (readonly [string, number, number])[]) =>
        [...xs].sort((x, y) => x[0].localeCompare(y[0]) || x[2] - y[2]);
      assert.deepEqual(
        sorted(got),
        sorted([
          [`NSE_EQ:${a}`, 1650.5, 1],
          [`NSE_EQ:${b}`, 812.25, 1],
          [`NSE_EQ:${a}`, 1650.75, 2],
          [`NSE_EQ:${b}`, 813.5, 3],
        ]),
        'exactly the valid ticks, once each',
      );

      const letters = (await consumeAll(BROKERS, dlqTopic('itest', feed), 3, 30_000)).map((m) => dlq.decode(m.value));
      assert.deepEqual(letters.map((l) => l.reason.split(':')[0]).sort(), ['bad-price', 'not-in-shard', 'time-skew']);
      for (const l of letters) {
        assert.equal(l.source, 'grpc');
        assert.equal(l.stage, 'ingestion');
        const original = tickCodec.decode(l.payload);
        assert.ok(original.instrument.id.startsWith('NSE_EQ:'), 'the DLQ keeps the tick as sent');
      }
      const skewed = letters.find((l) => l.reason.startsWith('time-skew'));
      assert.equal(tickCodec.decode(skewed?.payload ?? Buffer.alloc(0)).exchangeTimeMs, now - 2 * 3600_000);
      assert.equal(letters.find((l) => l.reason.startsWith('not-in-shard'))?.instrumentId, `NSE_EQ:${foreign}`);
    } finally {
      const code = await stopProcess(proc);
      assert.equal(code, 0, proc.output().slice(-2000));
    }
  });
});
