// Schema migrations, applied once under a PostgreSQL advisory lock and recorded in
// schema_migrations. Time partitioning: TimescaleDB hypertables when the extension is available,
// otherwise native daily range partitions managed by pg_partman, otherwise by ourselves
// (partitions.ts). Every storage replica calls migrate(); the lock makes the first one do the work.
import type pg from 'pg';
import { SQL_SCHEMA_NAME } from '../core/config.ts';
import type { Logger } from '../core/log.ts';
import { AGGREGATE_INTERVALS, continuousAggregateSql, refreshPolicySql } from './bars.ts';
import { gapsTableSql } from './gaps.ts';
import { TABLE_SPECS, TABLES, type TableSpec } from './tables.ts';
import { configureHypertables, createHypertable, dropUnusedTimeIndexes } from './timescale.ts';
import { convertToHypertables } from './upgrade.ts';

export type PartitionStrategy = 'timescaledb' | 'partman' | 'native';

export interface SchemaInfo {
  schema: string;
  strategy: PartitionStrategy;
  /** Where pg_partman lives when strategy = partman. */
  partmanSchema?: string;
  partmanMajor?: number;
}

export function validSchemaName(name: string): boolean {
  return SQL_SCHEMA_NAME.test(name);
}

/** A quoted identifier (our names are validated, this keeps SQL text honest anyway). */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const qualified = (schema: string, table: string): string => `${ident(schema)}.${ident(table)}`;

export function createTableSql(schema: string, spec: TableSpec, partitioned: boolean, name: string = spec.name): string {
  const cols = spec.columns.map((col) => `  ${ident(col.name)} ${col.type}`).join(',\n');
  const key = spec.key.map(ident).join(', ');
  const partition = partitioned ? ` PARTITION BY RANGE (${ident(spec.partitionColumn)})` : '';
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, name)} (\n${cols},\n  PRIMARY KEY (${key})\n)${partition}`;
}

/** Indexes for the MarketData queries beyond the natural keys. */
export function indexSql(schema: string): string[] {
  return [
    // GetTicks / GetBars / latest rows per contract use the primary keys (instrument_id, time, ...).
    `CREATE INDEX IF NOT EXISTS option_quotes_chain_idx ON ${qualified(schema, 'option_quotes')} (underlying_id, expiry, exchange_time DESC)`,
    `CREATE INDEX IF NOT EXISTS gex_latest_idx ON ${qualified(schema, 'gex')} (underlying_id, time DESC)`,
    `CREATE INDEX IF NOT EXISTS instruments_symbol_idx ON ${qualified(schema, 'instruments')} (upper(symbol))`,
    `CREATE INDEX IF NOT EXISTS instruments_chain_idx ON ${qualified(schema, 'instruments')} (underlying_id, expiry)`,
  ];
}

export function instrumentsTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, 'instruments')} (
  id text PRIMARY KEY,
  symbol text NOT NULL,
  segment text NOT NULL,
  security_id text NOT NULL,
  underlying_id text NOT NULL DEFAULT '',
  expiry date,
  strike double precision NOT NULL DEFAULT 0,
  option_type text NOT NULL DEFAULT 'OPTION_TYPE_UNSPECIFIED',
  first_seen timestamptz NOT NULL DEFAULT now()
)`;
}

interface Migration {
  version: number;
  name: string;
  apply(client: pg.ClientBase, info: SchemaInfo, log: Logger): Promise<void>;
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'history tables, instruments, time partitioning',
    async apply(client, info, log) {
      const partitioned = info.strategy !== 'timescaledb';
      for (const t of TABLES) await client.query(createTableSql(info.schema, TABLE_SPECS[t], partitioned));
      await client.query(instrumentsTableSql(info.schema));
      for (const sql of indexSql(info.schema)) await client.query(sql);
      for (const t of TABLES) {
        const spec = TABLE_SPECS[t];
        const table = `${info.schema}.${spec.name}`;
        if (info.strategy === 'timescaledb') {
          await createHypertable(client, info.schema, t);
        } else if (info.strategy === 'partman') {
          const p = ident(info.partmanSchema ?? 'partman');
          if ((info.partmanMajor ?? 4) >= 5) {
            await client.query(
              `SELECT ${p}.create_parent(p_parent_table => $1, p_control => $2, p_interval => '1 day', p_premake => 7)`,
              [table, spec.partitionColumn],
            );
          } else {
            await client.query(
              `SELECT ${p}.create_parent(p_parent_table => $1, p_control => $2, p_type => 'native', p_interval => 'daily', p_premake => 7, p_jobmon => false)`,
              [table, spec.partitionColumn],
            );
          }
        } else {
          // Self-managed: a default partition catches anything outside the daily ones.
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${qualified(info.schema, `${spec.name}_default`)} PARTITION OF ${qualified(info.schema, spec.name)} DEFAULT`,
          );
        }
      }
      log.info({ schema: info.schema, strategy: info.strategy }, 'created history tables');
    },
  },
  {
    version: 2,
    // Chunk intervals by data rate (timescale.ts CHUNK_INTERVALS says why) for chunks made from now
    // on, and compression settings; the retention and compression jobs follow the MarketFeed
    // (partitions.ts). Nothing to do on pg_partman: its partitions stay daily.
    name: 'hypertable chunk intervals and compression',
    async apply(client, info) {
      if (info.strategy === 'timescaledb') await configureHypertables(client, info.schema);
    },
  },
  {
    version: 3,
    // 5m, 15m, 1h and 1d bars as continuous aggregates over bars_1m with real-time aggregation (the
    // current bucket is live). Elsewhere GetBars groups bars_1m per query (bars.ts), nothing to create.
    name: 'multi-timeframe bars (continuous aggregates)',
    async apply(client, info) {
      if (info.strategy !== 'timescaledb') return;
      for (const i of AGGREGATE_INTERVALS) {
        await client.query(continuousAggregateSql(info.schema, i));
        await client.query(refreshPolicySql(info.schema, i));
      }
    },
  },
  {
    version: 4,
    // A plain table on every strategy: a few rows a day at most, kept as long as the history.
    name: 'ingestion gaps',
    async apply(client, info) {
      await client.query(gapsTableSql(info.schema));
    },
  },
  {
    version: 5,
    // timescale.ts TIME_INDEX says why; schemas made before it have the index, newer ones never get it.
    name: 'no time-only index on ticks and option_quotes',
    async apply(client, info) {
      if (info.strategy === 'timescaledb') await dropUnusedTimeIndexes(client, info.schema);
    },
  },
];

export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/**
 * Whether the server preloaded TimescaleDB's loader (shared_preload_libraries), which the extension
 * needs. The setting itself is readable by superusers only; the loader's own settings exist only
 * once it is loaded, and nobody configures this one.
 */
async function timescaleLoaded(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ v: string | null }>(`SELECT current_setting('timescaledb.bgw_launcher_poll_time', true) AS v`);
  return r.rows[0]?.v != null;
}

/** pg_partman's schema and major version, creating the extension when it is available but missing. */
async function partmanInfo(
  client: pg.ClientBase,
  schema: string,
  log: Logger,
  installed: string | null | undefined,
): Promise<SchemaInfo> {
  if (!installed) {
    try {
      await client.query('CREATE SCHEMA IF NOT EXISTS partman');
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman');
      log.info('created extension pg_partman in schema partman');
    } catch (err) {
      log.warn({ err }, 'pg_partman is available but could not be created; managing partitions ourselves');
      return { schema, strategy: 'native' };
    }
  }
  const ext = await client.query<{ nspname: string; extversion: string }>(
    `SELECT n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'`,
  );
  const row = ext.rows[0];
  if (row) return { schema, strategy: 'partman', partmanSchema: row.nspname, partmanMajor: Number(row.extversion.split('.')[0]) };
  return { schema, strategy: 'native' };
}

/** Which partitioning this database supports, installing pg_partman when it is available but missing. */
export async function detectStrategy(client: pg.ClientBase, schema: string, log: Logger): Promise<SchemaInfo> {
  const avail = await client.query<{ name: string; installed: string | null }>(
    `SELECT name, installed_version AS installed FROM pg_available_extensions WHERE name IN ('timescaledb', 'pg_partman')`,
  );
  const names = new Set(avail.rows.map((r) => r.name));
  if (names.has('timescaledb')) {
    if (await timescaleLoaded(client)) {
      await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
      return { schema, strategy: 'timescaledb' };
    }
    // Creating it now would fail ("must be preloaded") and take the connection down with it.
    log.warn('timescaledb is installed on the server but not preloaded (shared_preload_libraries): using pg_partman');
  }
  if (names.has('pg_partman'))
    return partmanInfo(client, schema, log, avail.rows.find((r) => r.name === 'pg_partman')?.installed);
  log.warn('neither timescaledb nor pg_partman is available: creating daily partitions ahead ourselves');
  return { schema, strategy: 'native' };
}

export interface MigrateOptions {
  /** Use this partitioning instead of the detected one for a new schema (tests make pg_partman schemas on a TimescaleDB server). */
  strategy?: 'partman' | 'native';
}

/** What the schema will be made of: detected (or forced) for a new schema, else as recorded last. */
async function resolveStrategy(
  client: pg.ClientBase,
  schema: string,
  recorded: PartitionStrategy | undefined,
  opts: MigrateOptions,
  log: Logger,
): Promise<{ detected: SchemaInfo; info: SchemaInfo }> {
  let detected = await detectStrategy(client, schema, log);
  if (opts.strategy === 'partman') {
    const avail = await client.query<{ installed: string | null }>(
      `SELECT installed_version AS installed FROM pg_available_extensions WHERE name = 'pg_partman'`,
    );
    const row = avail.rows[0];
    if (!row) throw new Error('strategy partman was asked for but pg_partman is not available on the server');
    detected = await partmanInfo(client, schema, log, row.installed);
  } else if (opts.strategy === 'native') detected = { schema, strategy: 'native' };
  return { detected, info: recorded ? { ...detected, strategy: recorded } : detected };
}

async function applyMigration(client: pg.ClientBase, m: Migration, info: SchemaInfo, log: Logger): Promise<void> {
  await client.query('BEGIN');
  try {
    await m.apply(client, info, log);
    await client.query(
      `INSERT INTO ${qualified(info.schema, 'schema_migrations')} (version, name, strategy) VALUES ($1, $2, $3)`,
      [m.version, m.name, info.strategy],
    );
    await client.query('COMMIT');
    log.info({ schema: info.schema, version: m.version, name: m.name }, 'applied migration');
  } catch (err) {
    await client.query('ROLLBACK');
    throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
  }
}

/**
 * A pg_partman (or self-partitioned) schema on a server that now preloads TimescaleDB: every table
 * becomes a hypertable holding every row it held (upgrade.ts), then the migrations already applied
 * are applied again the TimescaleDB way (each is idempotent there) and recorded under the new strategy.
 */
async function upgradeInPlace(client: pg.ClientBase, info: SchemaInfo, applied: Set<number>, log: Logger): Promise<SchemaInfo> {
  const from = info.strategy;
  await convertToHypertables(client, info, log);
  const upgraded: SchemaInfo = { schema: info.schema, strategy: 'timescaledb' };
  await client.query('BEGIN');
  try {
    for (const m of MIGRATIONS) if (applied.has(m.version)) await m.apply(client, upgraded, log);
    await client.query(`UPDATE ${qualified(info.schema, 'schema_migrations')} SET strategy = 'timescaledb'`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw new Error(`upgrade of schema ${info.schema} to TimescaleDB failed: ${(err as Error).message}`);
  }
  log.info({ schema: info.schema, from }, 'upgraded history tables in place to TimescaleDB hypertables');
  return upgraded;
}

/** Applies pending migrations once (advisory lock), returns what the schema is made of. */
export async function migrate(pool: pg.Pool, schema: string, log: Logger, opts: MigrateOptions = {}): Promise<SchemaInfo> {
  if (!validSchemaName(schema)) throw new Error(`DB_SCHEMA '${schema}' must match ${SQL_SCHEMA_NAME}`);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`stockify.migrate.${schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${qualified(schema, 'schema_migrations')} (
  version integer PRIMARY KEY,
  name text NOT NULL,
  strategy text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`);
      const done = await client.query<{ version: number; strategy: string }>(
        `SELECT version, strategy FROM ${qualified(schema, 'schema_migrations')} ORDER BY version`,
      );
      const applied = new Set(done.rows.map((r) => r.version));
      // Once tables exist their partitioning is fixed until an upgrade: keep the strategy recorded last.
      const recorded = done.rows.at(-1)?.strategy as PartitionStrategy | undefined;
      const { detected, info: kept } = await resolveStrategy(client, schema, recorded, opts, log);
      let info = kept;
      if (recorded && recorded !== 'timescaledb' && detected.strategy === 'timescaledb')
        info = await upgradeInPlace(client, info, applied, log);
      for (const m of MIGRATIONS) if (!applied.has(m.version)) await applyMigration(client, m, info, log);
      return info;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`stockify.migrate.${schema}`]);
    }
  } finally {
    client.release();
  }
}
