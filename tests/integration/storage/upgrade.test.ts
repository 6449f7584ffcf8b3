import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { detectStrategy, migrate } from '../../../services/storage/migrations.ts';
import { maintainPartitions } from '../../../services/storage/partitions.ts';
import { addRecord, emptyBatch, TABLES } from '../../../services/storage/tables.ts';
import { historyPolicy } from '../../../services/storage/timescale.ts';
import { PgWriter } from '../../../services/storage/writer.ts';
import { bar, gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { assertTimeOnlyIndexes, count, dropSchema, POLICY_30_DAYS, quietLog, testPool, uniqueName } from './helpers.ts';

const N = 1_500;
const DAY_MS = 86_400_000;

/** N rows per table, spread over three days (so over several partitions, default one included). */
function rows(from: number, to: number) {
  const b = emptyBatch();
  for (let i = from; i <= to; i++) {
    const at = T0 + (i % 3) * DAY_MS + i * 1_000;
    addRecord(b, rec.tick(tick('IDX_I:13', i, at)));
    addRecord(b, rec.quote(quote('NSE_FNO:500', 25_000, 'CALL', i, { underlying: 'IDX_I:13', timeMs: at })));
    addRecord(b, rec.bar(bar('IDX_I:13', T0 + i * 60_000)));
    addRecord(b, rec.gex(gex('IDX_I:13', at)));
  }
  return b;
}

describe('upgrade in place from pg_partman to TimescaleDB', () => {
  let pool: pg.Pool;
  let schema: string;
  let usable = false;

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_upgrade');
    const c = await pool.connect();
    try {
      const ext = await c.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman'`);
      usable = ext.rowCount === 1 && (await detectStrategy(c, schema, quietLog)).strategy === 'timescaledb';
    } finally {
      c.release();
    }
  });
  after(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  test('every row of every table survives, the tables become hypertables and take writes', async (t) => {
    if (!usable) {
      t.skip('needs a server with TimescaleDB preloaded and pg_partman');
      return;
    }
    const old = await migrate(pool, schema, quietLog, { strategy: 'partman' });
    assert.equal(old.strategy, 'partman');
    await maintainPartitions(pool, old, historyPolicy(POLICY_30_DAYS), quietLog);
    const written = await new PgWriter(pool, schema).write(rows(1, N));
    assert.deepEqual(written.written, { ticks: N, option_quotes: N, bars_1m: N, gex: N });

    const info = await migrate(pool, schema, quietLog);
    assert.equal(info.strategy, 'timescaledb');
    for (const table of TABLES) assert.equal(await count(pool, schema, table), N, `${table} rows after the upgrade`);
    const ht = await pool.query<{ name: string }>(
      `SELECT hypertable_name AS name FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 ORDER BY 1`,
      [schema],
    );
    assert.deepEqual(
      ht.rows.map((r) => r.name),
      ['bars_1m', 'gex', 'option_quotes', 'ticks'],
    );
    await assertTimeOnlyIndexes(pool, schema, 'after the upgrade');
    const recorded = await pool.query<{ strategy: string }>(`SELECT DISTINCT strategy FROM "${schema}".schema_migrations`);
    assert.deepEqual(
      recorded.rows.map((r) => r.strategy),
      ['timescaledb'],
    );
    const partman = await pool.query(`SELECT 1 FROM partman.part_config WHERE parent_table LIKE $1`, [`${schema}.%`]);
    assert.equal(partman.rowCount, 0, 'pg_partman no longer manages the tables');

    // Writes still work, duplicates are still ignored (the natural keys came along).
    const again = await new PgWriter(pool, schema).write(rows(1, N + 10));
    // Bars merge on their key rather than being skipped, so all of them count as written.
    assert.deepEqual(again.written, { ticks: 10, option_quotes: 10, bars_1m: N + 10, gex: 10 });
    await maintainPartitions(pool, info, historyPolicy(POLICY_30_DAYS), quietLog);
    // A second start changes nothing.
    assert.equal((await migrate(pool, schema, quietLog)).strategy, 'timescaledb');
    for (const table of TABLES) assert.equal(await count(pool, schema, table), N + 10);
  });
});
