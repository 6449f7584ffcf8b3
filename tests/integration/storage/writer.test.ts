import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { LATEST_VERSION, migrate, type SchemaInfo } from '../../../services/storage/migrations.ts';
import { maintainPartitions } from '../../../services/storage/partitions.ts';
import { HistoryReader } from '../../../services/storage/queries.ts';
import { addRecord, emptyBatch } from '../../../services/storage/tables.ts';
import { historyPolicy, timeOnlyIndexes } from '../../../services/storage/timescale.ts';
import { PgWriter } from '../../../services/storage/writer.ts';
import { bar, gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { assertTimeOnlyIndexes, count, dropSchema, POLICY_30_DAYS, quietLog, testPool, uniqueName } from './helpers.ts';

const ctx = { timeoutMs: 10_000, onCancel: () => undefined };

describe('PostgreSQL writer', () => {
  let pool: pg.Pool;
  let schema: string;
  let info: SchemaInfo;
  let writer: PgWriter;

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_writer');
    info = await migrate(pool, schema, quietLog);
    await maintainPartitions(pool, info, historyPolicy(POLICY_30_DAYS), quietLog);
    writer = new PgWriter(pool, schema);
  });
  after(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  test('migrations run once and are recorded, even when two replicas start together', async () => {
    const again = await Promise.all([migrate(pool, schema, quietLog), migrate(pool, schema, quietLog)]);
    assert.equal(again[0].strategy, info.strategy);
    const r = await pool.query(`SELECT version FROM "${schema}".schema_migrations`);
    assert.equal(r.rowCount, LATEST_VERSION);
  });

  test('history tables are time-partitioned: hypertables under TimescaleDB, daily partitions otherwise', async () => {
    if (info.strategy === 'timescaledb') {
      const r = await pool.query<{ name: string }>(
        `SELECT hypertable_name AS name FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 ORDER BY 1`,
        [schema],
      );
      assert.deepEqual(
        r.rows.map((row) => row.name),
        ['bars_1m', 'gex', 'option_quotes', 'ticks'],
      );
      // No index on the time column alone where only the instrument or chain is ever queried (TIME_INDEX).
      await assertTimeOnlyIndexes(pool, schema, 'of a new schema');
      // A schema made before migration 5 has TimescaleDB's default index on ticks (and its chunks);
      // the migration drops it. In a schema of its own, so the rows of the tests below stay theirs.
      const older = uniqueName('st_timeidx');
      try {
        await migrate(pool, older, quietLog);
        const b = emptyBatch();
        addRecord(b, rec.tick(tick('IDX_I:5', 1)));
        await new PgWriter(pool, older).write(b);
        await pool.query(`CREATE INDEX ticks_exchange_time_idx ON "${older}".ticks (exchange_time DESC)`);
        await pool.query(`DELETE FROM "${older}".schema_migrations WHERE version = 5`);
        const onChunks = async () =>
          (
            await pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_index x WHERE x.indrelid IN (SELECT show_chunks($1::regclass)) AND x.indnatts = 1`,
              [`"${older}".ticks`],
            )
          ).rows[0]?.n;
        assert.deepEqual(await timeOnlyIndexes(pool, older, 'ticks'), [`${older}.ticks_exchange_time_idx`]);
        assert.equal(await onChunks(), 1, 'the chunk got the index');
        await migrate(pool, older, quietLog);
        assert.deepEqual(await timeOnlyIndexes(pool, older, 'ticks'), []);
        assert.equal(await onChunks(), 0, 'the index is gone from the chunk too');
        const v5 = await pool.query(`SELECT 1 FROM "${older}".schema_migrations WHERE version = 5`);
        assert.equal(v5.rowCount, 1);
      } finally {
        await dropSchema(pool, older);
      }
      return;
    }
    const r = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace s ON s.oid = p.relnamespace
       WHERE s.nspname = $1 AND p.relname = 'ticks'`,
      [schema],
    );
    assert.ok((r.rows[0]?.n ?? 0) >= 2, `ticks has ${r.rows[0]?.n} partitions (strategy ${info.strategy})`);
  });

  test('N records give N rows, also when every record is written twice', async () => {
    const N = 2_000;
    const b = emptyBatch();
    for (let i = 1; i <= N; i++) addRecord(b, rec.tick(tick('IDX_I:13', i)));
    const first = await writer.write(b);
    assert.equal(first.written.ticks, N);
    const second = await writer.write(b);
    assert.equal(second.written.ticks, 0);
    // Duplicates inside one batch are also ignored.
    const doubled = emptyBatch();
    for (let i = 1; i <= 10; i++) {
      addRecord(doubled, rec.tick(tick('IDX_I:25', i)));
      addRecord(doubled, rec.tick(tick('IDX_I:25', i)));
    }
    assert.equal((await writer.write(doubled)).written.ticks, 10);
    assert.equal(await count(pool, schema, 'ticks'), N + 10);
  });

  test('a batch that overlaps rows already stored writes only the new ones, also from a fresh writer', async () => {
    const first = emptyBatch();
    for (let i = 1; i <= 100; i++) addRecord(first, rec.tick(tick('IDX_I:77', i)));
    assert.equal((await new PgWriter(pool, schema).write(first)).written.ticks, 100);
    // A fresh writer tries the direct COPY first; the duplicates make it fall back to staging.
    const overlap = emptyBatch();
    for (let i = 51; i <= 150; i++) addRecord(overlap, rec.tick(tick('IDX_I:77', i)));
    const fresh = new PgWriter(pool, schema);
    assert.equal((await fresh.write(overlap)).written.ticks, 50);
    const next = emptyBatch();
    for (let i = 151; i <= 160; i++) addRecord(next, rec.tick(tick('IDX_I:77', i)));
    assert.equal((await fresh.write(next)).written.ticks, 10);
    const r = await pool.query<{ n: number; k: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS k FROM "${schema}".ticks WHERE instrument_id = 'IDX_I:77'`,
    );
    assert.deepEqual(r.rows[0], { n: 160, k: 160 });
  });

  test('a duplicate in one table of a batch leaves the other tables of that batch written', async () => {
    const stored = emptyBatch();
    addRecord(stored, rec.quote(quote('NSE_FNO:777', 25_000, 'CALL', 1, { underlying: 'IDX_I:78' })));
    await new PgWriter(pool, schema).write(stored);
    const b = emptyBatch();
    for (let i = 1; i <= 20; i++) addRecord(b, rec.tick(tick('IDX_I:78', i)));
    addRecord(b, rec.quote(quote('NSE_FNO:777', 25_000, 'CALL', 1, { underlying: 'IDX_I:78' })));
    addRecord(b, rec.quote(quote('NSE_FNO:777', 25_000, 'CALL', 2, { underlying: 'IDX_I:78' })));
    addRecord(b, rec.gex(gex('IDX_I:78', T0 + 500)));
    const res = await new PgWriter(pool, schema).write(b);
    assert.deepEqual(res.written, { ticks: 20, option_quotes: 1, bars_1m: 0, gex: 1 });
    const r = await pool.query<{ t: number; q: number; g: number }>(
      `SELECT (SELECT count(*)::int FROM "${schema}".ticks WHERE instrument_id = 'IDX_I:78') AS t,
              (SELECT count(*)::int FROM "${schema}".option_quotes WHERE instrument_id = 'NSE_FNO:777') AS q,
              (SELECT count(*)::int FROM "${schema}".gex WHERE underlying_id = 'IDX_I:78') AS g`,
    );
    assert.deepEqual(r.rows[0], { t: 20, q: 2, g: 1 });
  });

  test('partial bars of one minute merge into one right bar, in any order and redelivered', async () => {
    const m = T0 + 3_600_000;
    const early = bar('IDX_I:99', m, {
      open: 100,
      high: 104,
      low: 99,
      close: 101,
      openTimeMs: m + 1_000,
      closeTimeMs: m + 20_000,
      volumeCumStart: 1_000,
      volumeCumEnd: 1_040,
      tickCount: 4,
    });
    const late = bar('IDX_I:99', m, {
      open: 101.5,
      high: 103,
      low: 97,
      close: 102,
      openTimeMs: m + 30_000,
      closeTimeMs: m + 59_000,
      volumeCumStart: 1_040,
      volumeCumEnd: 1_100,
      tickCount: 6,
      final: true,
    });
    const b1 = emptyBatch();
    addRecord(b1, rec.bar(late));
    await writer.write(b1);
    const b2 = emptyBatch();
    addRecord(b2, rec.bar(early));
    addRecord(b2, rec.bar(late));
    await writer.write(b2);
    await writer.write(b2);
    const bars = await new HistoryReader(pool, schema).bars(ctx, { instrument: 'IDX_I:99', fromMs: m, toMs: m, interval: '1m' });
    assert.equal(bars.length, 1);
    const got = bars[0];
    assert.ok(got);
    assert.deepEqual(
      {
        open: got.open,
        high: got.high,
        low: got.low,
        close: got.close,
        volume: got.volume,
        final: got.final,
        tickCount: got.tickCount,
      },
      { open: 100, high: 104, low: 97, close: 102, volume: 100, final: true, tickCount: 6 },
    );
  });

  test('quotes and GEX are stored once and read back as a chain with Greeks, by symbol or id', async () => {
    const b = emptyBatch();
    addRecord(b, rec.tick(tick('IDX_I:13', 50_000)));
    for (const [i, strike] of [24_900, 25_000, 25_100].entries()) {
      addRecord(b, rec.quote(quote(`NSE_FNO:${100 + i}`, strike, 'CALL', 1)));
      addRecord(b, rec.quote(quote(`NSE_FNO:${200 + i}`, strike, 'PUT', 1)));
      addRecord(b, rec.quote(quote(`NSE_FNO:${100 + i}`, strike, 'CALL', 2)));
    }
    addRecord(b, rec.gex(gex('IDX_I:13', T0 + 100)));
    addRecord(b, rec.gex(gex('IDX_I:13', T0 + 100)));
    const res = await writer.write(b);
    assert.equal(res.written.option_quotes, 9);
    assert.equal(res.written.gex, 1);
    const reader = new HistoryReader(pool, schema);
    const chain = await reader.optionChain(ctx, { underlying: { symbol: 'NIFTY' }, expiry: '' });
    assert.equal(chain.underlyingId, 'IDX_I:13');
    assert.equal(chain.expiry, '2026-11-26');
    assert.equal(chain.quotes.length, 6);
    assert.ok(
      chain.quotes.every((q) => q.seq === (q.meta.optionType === 'CALL' ? 2 : 1)),
      'latest quote per contract',
    );
    assert.equal(chain.quotes[0]?.delta, 0.52);
    assert.equal(chain.gex?.zeroGammaLevel, 24_870.5);
    const byId = await reader.optionChain(ctx, { underlying: { id: 'IDX_I:13' }, expiry: '2026-11-26' });
    assert.equal(byId.quotes.length, 6);
  });

  test('ticks come back in pages that together hold every tick once', async () => {
    const reader = new HistoryReader(pool, schema);
    const seen: number[] = [];
    let afterCursor: { timeMs: number; seq: number } | undefined;
    for (let page = 0; page < 10; page++) {
      const q = {
        instrument: 'IDX_I:13',
        fromMs: T0,
        toMs: T0 + 30_000,
        limit: 700,
        ...(afterCursor ? { after: afterCursor } : {}),
      };
      const res = await reader.ticks(ctx, q);
      seen.push(...res.ticks.map((t) => t.seq));
      if (!res.more) break;
      afterCursor = res.last;
    }
    assert.equal(seen.length, 2_000);
    assert.equal(new Set(seen).size, 2_000);
  });

  test('a query past its deadline is cancelled by PostgreSQL', async () => {
    const reader = new HistoryReader(pool, schema);
    await assert.rejects(
      reader.readOnly({ timeoutMs: 50, onCancel: () => undefined }, (c) => c.query('SELECT pg_sleep(2)')),
      (e: { code?: string }) => e.code === '57014',
    );
  });
});
