// Retention of bars_1m and gex (spec.storage.retention.bars1m / .gex) really drops old history:
// the policies the storage shard registers are run, and only what is older than its table's
// retention disappears.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { migrate, type SchemaInfo } from '../../../services/storage/migrations.ts';
import { maintainPartitions } from '../../../services/storage/partitions.ts';
import { historyPolicy } from '../../../services/storage/timescale.ts';
import { dropSchema, quietLog, testPool, uniqueName } from './helpers.ts';

const policy = historyPolicy({ retentionDays: 30, storage: { retention: { bars1m: 90, gex: 20 }, compressAfterDays: 7 } });
const DAY = 86_400_000;

describe('bars_1m and gex retention from the MarketFeed', () => {
  let pool: pg.Pool;
  let schema: string;
  let info: SchemaInfo;

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_retain');
    info = await migrate(pool, schema, quietLog);
  });
  after(async () => {
    // Its policies first: a background run of one races DROP SCHEMA ("tuple concurrently deleted").
    if (info.strategy === 'timescaledb') {
      await pool.query('SELECT delete_job(job_id) FROM timescaledb_information.jobs WHERE hypertable_schema = $1', [schema]);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await dropSchema(pool, schema);
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
    await pool.end();
  });

  test('running the retention policies drops bars older than 90 days and GEX older than 20, nothing newer', async (t) => {
    if (info.strategy !== 'timescaledb') {
      t.skip('pg_partman retention is checked by history-policy.test.ts (part_config)');
      return;
    }
    const now = Date.now();
    const bar = (ageDays: number) => {
      const at = new Date(Math.floor((now - ageDays * DAY) / 60_000) * 60_000).toISOString();
      return pool.query(
        `INSERT INTO "${schema}".bars_1m (instrument_id, minute_start, open, high, low, close, volume, open_interest,
           tick_count, open_time, close_time, volume_cum_start, volume_cum_end, final)
         VALUES ('IDX_I:13', $1, 1, 1, 1, 1, 0, 0, 1, $1, $1, 0, 0, true)`,
        [at],
      );
    };
    const gex = (ageDays: number) =>
      pool.query(
        `INSERT INTO "${schema}".gex (underlying_id, expiry, time, spot, net_gex, call_gex, put_gex, zero_gamma_available,
           zero_gamma_level, strikes) VALUES ('IDX_I:13', '2030-01-01', $1, 1, 0, 0, 0, false, 0, '[]')`,
        [new Date(now - ageDays * DAY).toISOString()],
      );
    for (const age of [200, 120, 60, 1]) await bar(age);
    for (const age of [60, 25, 10, 1]) await gex(age);

    await maintainPartitions(pool, info, policy, quietLog);
    const jobs = await pool.query<{ id: number }>(
      `SELECT job_id AS id FROM timescaledb_information.jobs WHERE hypertable_schema = $1 AND proc_name = 'policy_retention'
         AND hypertable_name IN ('bars_1m', 'gex')`,
      [schema],
    );
    assert.equal(jobs.rows.length, 2);
    for (const j of jobs.rows) await pool.query('CALL run_job($1)', [j.id]);

    const ages = async (table: string, column: string) =>
      (
        await pool.query<{ age: number }>(
          `SELECT round(extract(epoch FROM (now() - ${column})) / 86400)::int AS age FROM "${schema}".${table} ORDER BY 1`,
        )
      ).rows.map((r) => r.age);
    // Whole chunks are dropped (7-day chunks): a chunk is dropped once all of it is past retention.
    const bars = await ages('bars_1m', 'minute_start');
    assert.ok(!bars.includes(200) && !bars.includes(120), `bars left: ${bars.join(', ')} days old`);
    assert.ok(bars.includes(60) && bars.includes(1), `bars left: ${bars.join(', ')} days old`);
    const g = await ages('gex', 'time');
    assert.ok(!g.includes(60), `gex left: ${g.join(', ')} days old`);
    assert.ok(g.includes(10) && g.includes(1), `gex left: ${g.join(', ')} days old`);
  });
});
