// TimescaleDB specifics: chunk intervals, compression settings, and the retention and compression
// policies of each hypertable. Every statement here is idempotent, so a migration can re-apply it
// (after an upgrade in place from pg_partman) and maintenance can run it every hour.
import type pg from 'pg';
import { type StoragePolicy, storagePolicySchema } from '../core/shardfile.ts';
import { qualified } from './migrations.ts';
import { TABLE_SPECS, TABLES, type TableName } from './tables.ts';

/**
 * Chunk intervals by data rate. A chunk (with its indexes) should fit comfortably in memory while it
 * is being written, and queries of a trading day should touch few chunks. ticks and option_quotes
 * take every tick of every instrument and contract (millions of rows per trading day with option
 * chains): one day per chunk, which is also the grain of retention. bars_1m gets at most 375 rows per
 * instrument per trading day and gex one row per underlying and expiry per snapshot: a week per chunk
 * keeps their chunk count (and planning cost) low.
 */
export const CHUNK_INTERVALS: Readonly<Record<TableName, string>> = {
  ticks: '1 day',
  option_quotes: '1 day',
  bars_1m: '7 days',
  gex: '7 days',
};

/**
 * Whether a hypertable keeps the index on its time column alone that TimescaleDB makes by default.
 * bars_1m keeps it (continuous aggregate refreshes scan a time range across every instrument), and
 * so does gex (a few rows a snapshot). ticks and option_quotes are only ever read by instrument (their
 * primary key) or by chain (option_quotes_chain_idx), and retention drops whole chunks, so there it
 * would only cost every insert: 13% of the time of a COPY of 150,000 tick rows (alternating runs,
 * 2,073 against 1,806 ms), about 1.8 µs a tick of PostgreSQL's CPU.
 */
export const TIME_INDEX: Readonly<Record<TableName, boolean>> = {
  ticks: false,
  option_quotes: false,
  bars_1m: true,
  gex: true,
};

/** Compression: one segment per series (rows of one instrument compress well together), newest first. */
export const COMPRESSION: Readonly<Record<TableName, { segmentBy: string; orderBy: string }>> = {
  ticks: { segmentBy: 'instrument_id', orderBy: 'exchange_time DESC, seq DESC' },
  option_quotes: { segmentBy: 'instrument_id', orderBy: 'exchange_time DESC, seq DESC' },
  bars_1m: { segmentBy: 'instrument_id', orderBy: 'minute_start DESC' },
  gex: { segmentBy: 'underlying_id, expiry', orderBy: 'time DESC' },
};

/** Days each table keeps (0 = forever) and the age after which TimescaleDB compresses (0 = never). */
export interface HistoryPolicy {
  retentionDays: Readonly<Record<TableName, number>>;
  compressAfterDays: number;
}

/** The policy a shard file asks for: ticks and option quotes fall back to the feed's retentionDays. */
export function historyPolicy(shard: { retentionDays: number; storage?: StoragePolicy | undefined }): HistoryPolicy {
  const s = storagePolicySchema.parse(shard.storage ?? {});
  return {
    retentionDays: {
      ticks: s.retention.ticks ?? shard.retentionDays,
      option_quotes: s.retention.optionQuotes ?? shard.retentionDays,
      bars_1m: s.retention.bars1m,
      gex: s.retention.gex,
    },
    compressAfterDays: s.compressAfterDays,
  };
}

/** A hypertable with our chunk interval (a no-op when it is one already). */
export async function createHypertable(
  client: pg.ClientBase,
  schema: string,
  table: TableName,
  name: string = table,
): Promise<void> {
  await client.query(
    `SELECT create_hypertable($1::regclass, $2::name, chunk_time_interval => $3::interval, create_default_indexes => $4::boolean, if_not_exists => true)`,
    [qualified(schema, name), TABLE_SPECS[table].partitionColumn, CHUNK_INTERVALS[table], TIME_INDEX[table]],
  );
}

/** The indexes of a table on its time column alone (qualified names). */
export async function timeOnlyIndexes(client: pg.ClientBase | pg.Pool, schema: string, table: TableName): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, ic.relname) AS name
FROM pg_index x
JOIN pg_class ic ON ic.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
WHERE x.indrelid = $1::regclass AND x.indnatts = 1 AND NOT x.indisprimary AND NOT x.indisunique AND a.attname = $2
ORDER BY 1`,
    [qualified(schema, table), TABLE_SPECS[table].partitionColumn],
  );
  return r.rows.map((row) => row.name);
}

/** Drops the time-only indexes TIME_INDEX says a table goes without (on a hypertable, its chunks' too). */
export async function dropUnusedTimeIndexes(client: pg.ClientBase, schema: string): Promise<void> {
  for (const t of TABLES) {
    if (TIME_INDEX[t]) continue;
    for (const index of await timeOnlyIndexes(client, schema, t)) await client.query(`DROP INDEX ${index}`);
  }
}

/** Chunk intervals (for chunks made from now on) and compression settings of every hypertable. */
export async function configureHypertables(client: pg.ClientBase, schema: string): Promise<void> {
  for (const t of TABLES) {
    const rel = qualified(schema, t);
    await client.query('SELECT set_chunk_time_interval($1::regclass, $2::interval)', [rel, CHUNK_INTERVALS[t]]);
    const c = COMPRESSION[t];
    await client.query(
      `ALTER TABLE ${rel} SET (timescaledb.compress, timescaledb.compress_segmentby = '${c.segmentBy}', timescaledb.compress_orderby = '${c.orderBy}')`,
    );
  }
}

/** Replaces a policy job only when its setting differs, so hourly maintenance changes nothing in steady state. */
async function setPolicy(
  client: pg.ClientBase,
  schema: string,
  table: string,
  kind: { proc: string; key: string; remove: string; add: string },
  days: number,
): Promise<void> {
  const rel = qualified(schema, table);
  const jobs = await client.query<{ same: boolean }>(
    `SELECT (config->>$4)::interval = make_interval(days => $5::int) AS same FROM timescaledb_information.jobs
WHERE hypertable_schema = $1 AND hypertable_name = $2 AND proc_name = $3`,
    [schema, table, kind.proc, kind.key, days],
  );
  const job = jobs.rows[0];
  if (days > 0 && job?.same) return;
  if (!job && days <= 0) return;
  if (job) await client.query(`SELECT ${kind.remove}($1::regclass, if_exists => true)`, [rel]);
  if (days > 0) await client.query(`SELECT ${kind.add}($1::regclass, make_interval(days => $2::int))`, [rel, days]);
}

const RETENTION = {
  proc: 'policy_retention',
  key: 'drop_after',
  remove: 'remove_retention_policy',
  add: 'add_retention_policy',
};
const COMPRESSION_POLICY = {
  proc: 'policy_compression',
  key: 'compress_after',
  remove: 'remove_compression_policy',
  add: 'add_compression_policy',
};

/** Retention and compression jobs of every hypertable as the policy says. */
export async function applyPolicies(client: pg.ClientBase, schema: string, policy: HistoryPolicy): Promise<void> {
  for (const t of TABLES) {
    await setPolicy(client, schema, t, RETENTION, policy.retentionDays[t]);
    await setPolicy(client, schema, t, COMPRESSION_POLICY, policy.compressAfterDays);
  }
}
