import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { migrate, type SchemaInfo } from '../../../services/storage/migrations.ts';
import { maintainPartitions } from '../../../services/storage/partitions.ts';
import { historyPolicy } from '../../../services/storage/timescale.ts';
import { dropSchema, quietLog, testPool, uniqueName } from './helpers.ts';

const policy = historyPolicy({
  retentionDays: 30,
  storage: { retention: { optionQuotes: 5, bars1m: 90, gex: 0 }, compressAfterDays: 3 },
});

describe('history policy from the MarketFeed', () => {
  let pool: pg.Pool;
  let schema: string;
  let info: SchemaInfo;

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_policy');
    info = await migrate(pool, schema, quietLog);
  });
  after(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  test('ticks and option quotes fall back to retentionDays, bars and GEX are kept by default', () => {
    const d = historyPolicy({ retentionDays: 30 });
    assert.deepEqual(d.retentionDays, { ticks: 30, option_quotes: 30, bars_1m: 0, gex: 0 });
    assert.equal(d.compressAfterDays, 7);
    assert.deepEqual(policy.retentionDays, { ticks: 30, option_quotes: 5, bars_1m: 90, gex: 0 });
  });

  test('each table gets its own retention (and compression under TimescaleDB), unchanged by a second run', async () => {
    await maintainPartitions(pool, info, policy, quietLog);
    if (info.strategy === 'timescaledb') {
      const jobs = async () =>
        (
          await pool.query<{ id: number; table: string; proc: string; config: Record<string, string> }>(
            `SELECT job_id AS id, hypertable_name AS table, proc_name AS proc, config FROM timescaledb_information.jobs
             WHERE hypertable_schema = $1 AND proc_name IN ('policy_retention', 'policy_compression') ORDER BY 2, 3`,
            [schema],
          )
        ).rows;
      const first = await jobs();
      const retention = Object.fromEntries(
        first.filter((j) => j.proc === 'policy_retention').map((j) => [j.table, j.config.drop_after]),
      );
      assert.deepEqual(retention, { bars_1m: '90 days', option_quotes: '5 days', ticks: '30 days' });
      const compression = first.filter((j) => j.proc === 'policy_compression');
      assert.equal(compression.length, 4);
      for (const j of compression) assert.equal(j.config.compress_after, '3 days');
      await maintainPartitions(pool, info, policy, quietLog);
      assert.deepEqual(await jobs(), first);
      const settings = await pool.query<{ table: string; segmentby: string }>(
        `SELECT hypertable_name AS table, string_agg(attname, ',' ORDER BY segmentby_column_index) AS segmentby
         FROM timescaledb_information.compression_settings WHERE hypertable_schema = $1 AND segmentby_column_index IS NOT NULL GROUP BY 1 ORDER BY 1`,
        [schema],
      );
      assert.deepEqual(
        settings.rows.map((r) => `${r.table}:${r.segmentby}`),
        ['bars_1m:instrument_id', 'gex:underlying_id,expiry', 'option_quotes:instrument_id', 'ticks:instrument_id'],
      );
      return;
    }
    if (info.strategy !== 'partman') return;
    const r = await pool.query<{ parent: string; retention: string | null }>(
      `SELECT parent_table AS parent, retention FROM "${info.partmanSchema}".part_config WHERE parent_table LIKE $1 ORDER BY 1`,
      [`${schema}.%`],
    );
    assert.deepEqual(
      r.rows.map((row) => `${row.parent.split('.')[1]}:${row.retention}`),
      ['bars_1m:90 days', 'gex:null', 'option_quotes:5 days', 'ticks:30 days'],
    );
  });
});
