// (d) With the broker killed for 10 s and restarted on the same data, no record the source handed
// over is lost: the publisher keeps them buffered and retries (and replaces its idempotent producer
// should the broker no longer accept its sequence numbers). Uses a private broker.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { RawRecord } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { rawTopic } from '../../../services/core/topics.ts';
import {
  baseEnv,
  consumeAll,
  runId,
  scrapeMetric,
  startIngestion,
  stopProcess,
  waitFor,
  within,
  writeShardFile,
} from './helpers.ts';
import { privateBroker } from './private-broker.ts';

const raw = codec<RawRecord>('RawRecord');
const feed = `outage-${runId()}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('broker outage', () => {
  const brokerP = privateBroker(feed);
  after(async () => (await brokerP).remove());

  test('a broker stopped for 10 s and restarted loses no record the source handed over', { timeout: 300_000 }, async (t) => {
    const broker = await brokerP;
    await broker.start();
    const LIMIT = 5000; // 250/s in real time: about 20 s, half of it during the outage
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'simulator', seed: 5, ticksPerSecond: 250, chainSnapshotsPerSecond: 0.5 },
      kafka: { partitionsPerShard: 2, replicationFactor: 1 },
      instruments: [
        { symbol: 'NIFTY', securityId: '13', segment: 'IDX_I', optionChain: { expiries: 1, strikes: 6 } },
        { symbol: 'HDFCBANK', securityId: '1333', segment: 'NSE_EQ', kind: 'equity' },
      ],
    });
    const env = await baseEnv(feed, 0, 1, file, broker.brokers);
    const proc = startIngestion(env, ['--limit', String(LIMIT), '--exit-when-done']);
    try {
      // Kill the broker only once records are flowing (a slow start must not turn into a refused start).
      await waitFor(
        'the first records acknowledged by Kafka',
        async () => ((await scrapeMetric(env.METRICS_PORT as string, 'stockify_ingestion_records_published_total')) ?? 0) > 0,
        90_000,
      );
      await broker.kill();
      // While the broker is down nothing is acknowledged: the buffer must grow (the outage was felt).
      let maxDepth = 0;
      const outageEnds = Date.now() + 10_000;
      while (Date.now() < outageEnds) {
        await sleep(500);
        const depth = await scrapeMetric(env.METRICS_PORT as string, 'stockify_ingestion_buffer_depth').catch(() => undefined);
        maxDepth = Math.max(maxDepth, depth ?? 0);
      }
      await broker.start();
      const code = await within(proc.exited, 120_000);
      assert.equal(code, 0, `the process flushed everything and exited 0:\n${proc.output().slice(-3000)}`);
      assert.ok(maxDepth > 100, `records piled up in the buffer during the outage (max depth ${maxDepth})`);

      const messages = await consumeAll(broker.brokers, rawTopic('itest', feed, 0), LIMIT, 60_000);
      const ids = new Set(
        messages.map((m) => {
          const r = raw.decode(m.value);
          return r.payload === 'tick'
            ? `${r.tick.instrument.id}|${r.tick.seq}`
            : r.payload === 'chain'
              ? `${r.chain.underlying.id}|${r.chain.expiry}|${r.chain.seq}`
              : '';
        }),
      );
      const out = proc.output();
      t.diagnostic(
        `read ${messages.length} (${messages.length - ids.size} duplicates); publisher retry lines (rate-limited): ${(out.match(/publishing to Kafka failed/g) ?? []).length}; producer replaced: ${out.includes('Kafka producer replaced') ? 'yes' : 'no'}; max buffer depth ${maxDepth}`,
      );
      assert.equal(
        ids.size,
        LIMIT,
        `every one of the ${LIMIT} records is in Kafka (read ${messages.length}, duplicates allowed)`,
      );
    } finally {
      await stopProcess(proc);
    }
  });
});
