// What a `stockify up` run leaves behind, removed: its PostgreSQL schema, its Kafka topics, its state
// under .local/up/<feed> and its process logs. For runs that exist only to be looked at (a browser
// test, the console screenshot).
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createKafka } from '../core/kafka.ts';
import { createLogger } from '../core/log.ts';

export interface UpRun {
  /** The repository root (`.local/` lives there). */
  root: string;
  feed: string;
  schema: string;
  brokers: string;
  databaseUrl: string;
  /** Kafka client id of the admin connection that deletes the topics. */
  clientId: string;
}

export async function removeUpRun(run: UpRun): Promise<void> {
  const pool = new pg.Pool({ connectionString: run.databaseUrl, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS "${run.schema}" CASCADE`);
  await pool.end();
  const admin = createKafka(
    run.brokers.split(','),
    run.clientId,
    createLogger({ component: 'cleanup', level: 'silent' }),
  ).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.includes(`.${run.feed}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await admin.disconnect();
  rmSync(join(run.root, '.local/up', run.feed), { recursive: true, force: true });
  const logs = join(run.root, '.local/logs');
  for (const f of readdirSync(logs)) if (f.startsWith(`${run.feed}-`)) rmSync(join(logs, f), { force: true });
}
