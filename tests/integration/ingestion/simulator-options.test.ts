// The simulator's option ticks end to end (what `make run` exercises): ingestion publishes
// per-contract option ticks keyed by their underlying; the processor solves IV and Greeks for each
// on the underlying's latest spot; storage writes one option_quotes row per option tick (same
// instrument and seq as the tick), on the spot of the last underlying tick before it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type pg from 'pg';
import { createLogger } from '../../../services/core/log.ts';
import type { RawRecord } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { readShardFile } from '../../../services/core/shardfile.ts';
import { enrichedTopic, rawTopic } from '../../../services/core/topics.ts';
import { startProcessor } from '../../../services/processor/consumer.ts';
import { DATABASE_URL, dropSchema, testPool, uniqueName } from '../storage/helpers.ts';
import { startStorage } from '../storage/process.ts';
import { BROKERS, consumeAll, deleteTopics, runId, startIngestion, waitFor, writeShardFile } from './helpers.ts';

// Ports of this test: 40410-40419.
const PORTS = { ingestionGrpc: 40410, ingestionMetrics: 40411, storageGrpc: 40412, storageMetrics: 40413 };
const LIMIT = 3_000;
const raw = codec<RawRecord>('RawRecord');
const feed = `simopt-${runId()}`;
const schema = uniqueName('simopt');
const pool: pg.Pool = testPool();
after(async () => {
  await deleteTopics(BROKERS, feed);
  await dropSchema(pool, schema);
  await pool.end();
});

describe('simulator option ticks end to end', () => {
  test('every simulated option tick becomes an option_quotes row with IV and Greeks on the latest spot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stockify-sim-options-'));
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'simulator', seed: 5, ticksPerSecond: 200, chainSnapshotsPerSecond: 1 },
      kafka: { partitionsPerShard: 2, replicationFactor: 1 },
      instruments: [
        {
          symbol: 'NIFTY',
          securityId: '13',
          segment: 'IDX_I',
          kind: 'index',
          simulator: { price: 26_000 },
          optionChain: { expiries: 2, strikes: 10, strikeStep: 50 },
        },
        { symbol: 'HDFCBANK', securityId: '1333', segment: 'NSE_EQ', kind: 'equity' },
      ],
    });
    const shard = readShardFile(file);
    const processor = await startProcessor({
      brokers: BROKERS,
      feed,
      namespace: 'itest',
      shardIndex: 0,
      shard,
      log: createLogger({ component: 'processor-test', level: 'silent' }),
    });
    const storage = await startStorage(
      { feed, namespace: 'itest', topic: enrichedTopic('itest', feed, 0), dir, shardFile: file, cleanup: () => {} },
      { schema, databaseUrl: DATABASE_URL, grpcPort: PORTS.storageGrpc, env: { METRICS_PORT: String(PORTS.storageMetrics) } },
    );
    const ingestion = startIngestion(
      {
        KAFKA_BROKERS: BROKERS.join(','),
        FEED_NAME: feed,
        FEED_NAMESPACE: 'itest',
        SHARD_INDEX: '0',
        SHARD_COUNT: '1',
        INSTRUMENTS_FILE: file,
        GRPC_PORT: String(PORTS.ingestionGrpc),
        METRICS_PORT: String(PORTS.ingestionMetrics),
      },
      ['--as-fast-as-possible', '--limit', String(LIMIT), '--exit-when-done'],
    );
    try {
      assert.equal(await ingestion.exited, 0, ingestion.output().slice(-2000));
      const messages = await consumeAll(BROKERS, rawTopic('itest', feed, 0), LIMIT);
      // Per partition, in order: the spot an option tick must be solved on is the last NIFTY tick or chain before it.
      const expected = new Map<string, number>();
      const spot = new Map<number, number>();
      for (const m of messages) {
        const r = raw.decode(m.value);
        if (r.payload === 'chain') spot.set(m.partition, r.chain.underlyingPrice);
        if (r.payload !== 'tick') continue;
        if (r.tick.instrument.id === 'IDX_I:13') spot.set(m.partition, r.tick.lastPrice);
        if (!r.tick.meta) continue;
        assert.equal(m.key, 'IDX_I:13', 'option ticks are keyed by their underlying');
        const s = spot.get(m.partition);
        if (s !== undefined) expected.set(`${r.tick.instrument.id}|${r.tick.seq}`, s);
      }
      assert.ok(expected.size > 1_000, `${expected.size} option ticks after a spot`);
      type Row = {
        instrument_id: string;
        seq: string;
        underlying_price: number;
        iv: number;
        iv_available: boolean;
        delta: number;
      };
      let rows: Row[] = [];
      await waitFor(
        'an option_quotes row for every option tick',
        async () => {
          try {
            rows = (
              await pool.query<Row>(
                `SELECT instrument_id, seq, underlying_price, iv, iv_available, delta FROM "${schema}".option_quotes`,
              )
            ).rows;
          } catch {
            return false;
          }
          const have = new Set(rows.map((r) => `${r.instrument_id}|${r.seq}`));
          return [...expected.keys()].every((k) => have.has(k));
        },
        90_000,
        500,
      );
      const fromTicks = rows.filter((r) => expected.has(`${r.instrument_id}|${r.seq}`));
      for (const r of fromTicks) {
        assert.equal(r.underlying_price, expected.get(`${r.instrument_id}|${r.seq}`), `the spot of ${r.instrument_id}`);
      }
      const solved = fromTicks.filter((r) => r.iv_available);
      assert.ok(solved.length / fromTicks.length > 0.9, `${solved.length} of ${fromTicks.length} option ticks have an IV`);
      // The simulator's smile stays within 0.5×–3× its ATM volatility (0.14 × 1.05).
      for (const r of solved) assert.ok(r.iv > 0.05 && r.iv < 0.5, `iv ${r.iv} of ${r.instrument_id}`);
      const ticks = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".ticks WHERE underlying_id = 'IDX_I:13' AND instrument_id LIKE 'NSE_FNO:%'`,
      );
      assert.ok(Number(ticks.rows[0]?.n) >= expected.size, 'the option ticks are stored as ticks too, under their underlying');
      console.log(`simulator: ${expected.size} option ticks → ${fromTicks.length} option_quotes rows, ${solved.length} with IV`);
    } finally {
      await processor.stop();
      await storage.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
