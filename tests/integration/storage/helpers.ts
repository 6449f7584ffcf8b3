// Shared setup for storage integration tests: a unique schema per run in the shared database,
// dropped afterwards together with its pg_partman bookkeeping.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { createLogger } from '../../../services/core/log.ts';
import { createPool } from '../../../services/storage/database.ts';
import { TABLES } from '../../../services/storage/tables.ts';
import { TIME_INDEX, timeOnlyIndexes } from '../../../services/storage/timescale.ts';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://stockify:stockify@127.0.0.1:5432/stockify';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';

export const quietLog = createLogger({ component: 'storage-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A shard file's history settings as a MarketFeed with only retentionDays: 30 gets them. */
export const POLICY_30_DAYS = { retentionDays: 30, storage: { retention: { bars1m: 0, gex: 0 }, compressAfterDays: 7 } };

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function testPool(url = DATABASE_URL, max = 4): pg.Pool {
  return createPool(url, max, quietLog);
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  const partman = await pool.query<{ nspname: string }>(
    `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'`,
  );
  const ns = partman.rows[0]?.nspname;
  if (!ns) return;
  await pool.query(`DELETE FROM "${ns}".part_config WHERE parent_table LIKE $1`, [`${schema}.%`]);
  const templates = await pool.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname LIKE $2 AND c.relkind IN ('r', 'p')`,
    [ns, `template_${schema}_%`],
  );
  for (const t of templates.rows) await pool.query(`DROP TABLE IF EXISTS "${ns}"."${t.relname}"`);
}

export async function count(pool: pg.Pool, schema: string, table: string): Promise<number> {
  const r = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."${table}"`);
  return r.rows[0]?.n ?? -1;
}

/** Deletes the Redis keys a test made; a Redis outage only skips the cleanup. */
export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const keys = await redis.keys(pattern);
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // nothing to clean when Redis is away
  } finally {
    redis.disconnect();
  }
}

/** Each history table has TimescaleDB's time-only index where TIME_INDEX keeps it, and none elsewhere. */
export async function assertTimeOnlyIndexes(pool: pg.Pool, schema: string, when: string): Promise<void> {
  for (const table of TABLES) {
    const indexes = await timeOnlyIndexes(pool, schema, table);
    assert.equal(indexes.length, TIME_INDEX[table] ? 1 : 0, `${table} ${when}: ${indexes.join(', ') || 'no time-only index'}`);
  }
}
