// Partition upkeep: daily partitions ahead of time, retention per table and (TimescaleDB) compression,
// as the shard file's history policy says. Run at start and hourly by every replica, serialised by an
// advisory lock so only one does the work at a time.
import type pg from 'pg';
import type { Logger } from '../core/log.ts';
import { ident, qualified, type SchemaInfo } from './migrations.ts';
import { TABLE_SPECS, TABLES } from './tables.ts';
import { applyPolicies, type HistoryPolicy } from './timescale.ts';

export const PREMAKE_DAYS = 7;

const DAY_MS = 86_400_000;

/** "YYYYMMDD" of a UTC day. */
export function dayTag(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
}

/** Partition names and bounds for today-1 .. today+premake (UTC days). */
export function plannedPartitions(
  table: string,
  nowMs: number,
  premake = PREMAKE_DAYS,
): { name: string; from: string; to: string }[] {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const out: { name: string; from: string; to: string }[] = [];
  for (let d = -1; d <= premake; d++) {
    const start = today + d * DAY_MS;
    out.push({
      name: `${table}_p${dayTag(start)}`,
      from: new Date(start).toISOString(),
      to: new Date(start + DAY_MS).toISOString(),
    });
  }
  return out;
}

/** Self-managed partitions older than the retention window (by the day in their name). */
export function expiredPartitions(names: readonly string[], table: string, retentionDays: number, nowMs: number): string[] {
  if (retentionDays <= 0) return [];
  const cutoff = dayTag(Math.floor(nowMs / DAY_MS) * DAY_MS - retentionDays * DAY_MS);
  const re = new RegExp(`^${table}_p(\\d{8})$`);
  return names.filter((n) => {
    const m = re.exec(n);
    return m?.[1] !== undefined && m[1] < cutoff;
  });
}

export async function maintainPartitions(pool: pg.Pool, info: SchemaInfo, policy: HistoryPolicy, log: Logger): Promise<void> {
  const client = await pool.connect();
  try {
    const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
      `stockify.partitions.${info.schema}`,
    ]);
    if (!lock.rows[0]?.ok) return;
    try {
      if (info.strategy === 'timescaledb') await applyPolicies(client, info.schema, policy);
      else if (info.strategy === 'partman') await partmanMaintenance(client, info, policy);
      else await nativeMaintenance(client, info, policy, log);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`stockify.partitions.${info.schema}`]);
    }
  } finally {
    client.release();
  }
}

async function partmanMaintenance(client: pg.PoolClient, info: SchemaInfo, policy: HistoryPolicy): Promise<void> {
  const p = ident(info.partmanSchema ?? 'partman');
  for (const t of TABLES) {
    const parent = `${info.schema}.${t}`;
    const days = policy.retentionDays[t];
    const retention = days > 0 ? `${days} days` : null;
    await client.query(`UPDATE ${p}.part_config SET retention = $2, retention_keep_table = false WHERE parent_table = $1`, [
      parent,
      retention,
    ]);
    await client.query(`SELECT ${p}.run_maintenance(p_parent_table => $1, p_analyze => false)`, [parent]);
  }
}

async function nativeMaintenance(client: pg.PoolClient, info: SchemaInfo, policy: HistoryPolicy, log: Logger): Promise<void> {
  const now = Date.now();
  for (const t of TABLES) {
    const parent = qualified(info.schema, TABLE_SPECS[t].name);
    for (const p of plannedPartitions(t, now)) {
      try {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${qualified(info.schema, p.name)} PARTITION OF ${parent} FOR VALUES FROM ('${p.from}') TO ('${p.to}')`,
        );
      } catch (err) {
        // e.g. rows for that day already sit in the default partition: they stay there, still queryable.
        log.warn({ err, partition: p.name }, 'could not create partition ahead');
      }
    }
    const retentionDays = policy.retentionDays[t];
    if (retentionDays <= 0) continue;
    const children = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
      [parent],
    );
    for (const name of expiredPartitions(
      children.rows.map((r) => r.name),
      t,
      retentionDays,
      now,
    )) {
      await client.query(`DROP TABLE IF EXISTS ${qualified(info.schema, name)}`);
      log.info({ partition: name, retentionDays }, 'dropped partition past retention');
    }
  }
}
