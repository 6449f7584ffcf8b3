// The shard's PostgreSQL side: a write pool and a read pool, the schema migrated once PostgreSQL is
// reachable, and hourly partition maintenance (retention, compression, partitions made ahead of time).
import pg from 'pg';
import { Backoff } from '../core/backoff.ts';
import type { Logger } from '../core/log.ts';
import { migrate, type SchemaInfo } from './migrations.ts';
import { maintainPartitions } from './partitions.ts';
import type { HistoryPolicy } from './timescale.ts';

const PARTITION_MAINTENANCE_MS = 3_600_000;
/** PostgreSQL may start after storage (a local run, a restarted node): keep trying for ~5 minutes. */
const MIGRATION_ATTEMPTS = 60;
const MIGRATION_BACKOFF = { initialMs: 500, maxMs: 5_000, jitter: 'none' } as const;

/** Pool connections parse int8 as numbers (our int64s fit in 2^53). */
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function createPool(url: string, max: number, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    types: pgTypes,
  });
  // Idle connections dropped by the server (restart, failover) must not crash the process.
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL connection lost'));
  // A checked-out client whose connection drops emits 'error' too; its pending query is rejected
  // and handled by the caller, so the event itself only needs a listener (else it would crash).
  pool.on('connect', (client) => client.on('error', (err) => log.warn({ err }, 'PostgreSQL connection lost')));
  return pool;
}

/** PostgreSQL refused or dropped the connection (as opposed to a query it rejected). */
function unreachable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code?.startsWith('08') === true || /timeout|connect/i.test((err as Error).message);
}

export async function migrateWhenReachable(pool: pg.Pool, schema: string, log: Logger): Promise<SchemaInfo> {
  const backoff = new Backoff(MIGRATION_BACKOFF);
  for (;;) {
    try {
      return await migrate(pool, schema, log);
    } catch (err) {
      if (!unreachable(err) || backoff.attempts >= MIGRATION_ATTEMPTS) throw err;
      log.warn({ err, attempt: backoff.attempts }, 'PostgreSQL not reachable yet; retrying');
      await new Promise((r) => setTimeout(r, backoff.next()));
    }
  }
}

export class StorageDatabase {
  readonly writePool: pg.Pool;
  readonly readPool: pg.Pool;
  readonly schema: string;
  private readonly log: Logger;
  private maintenance: NodeJS.Timeout | undefined;

  constructor(url: string, schema: string, log: Logger) {
    this.schema = schema;
    this.log = log;
    this.writePool = createPool(url, 4, log);
    this.readPool = createPool(url, 8, log);
  }

  migrate(): Promise<SchemaInfo> {
    return migrateWhenReachable(this.writePool, this.schema, this.log).catch((err: unknown) => {
      throw new Error(`database migration failed: ${(err as Error).message}`);
    });
  }

  /** Maintains partitions now and every hour; a failed run is reported and retried at the next. */
  startMaintenance(info: SchemaInfo, policy: HistoryPolicy, onError: (err: unknown) => void): void {
    const maintain = (): void => {
      maintainPartitions(this.writePool, info, policy, this.log).catch(onError);
    };
    maintain();
    this.maintenance = setInterval(maintain, PARTITION_MAINTENANCE_MS);
    this.maintenance.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.maintenance);
    await this.writePool.end();
    await this.readPool.end();
  }
}
