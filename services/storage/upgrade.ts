// Upgrade in place: history tables made as declarative range partitions (pg_partman or our own) become
// TimescaleDB hypertables without losing a row. A partitioned table cannot become a hypertable, so
// each table is rebuilt: a new hypertable is filled from the old table one partition at a time, the
// counts are compared, and the new table takes the old one's name — all in one transaction per table,
// under an exclusive lock so no write lands in the old table meanwhile (writers wait, then retry).
import type pg from 'pg';
import type { Logger } from '../core/log.ts';
import { createTableSql, ident, qualified, type SchemaInfo } from './migrations.ts';
import { TABLE_SPECS, TABLES, type TableName } from './tables.ts';
import { createHypertable } from './timescale.ts';

const NEW_SUFFIX = '_hypertable';

/** Whether the table is still declaratively partitioned (not converted yet). */
async function partitioned(client: pg.ClientBase, schema: string, table: string): Promise<boolean> {
  const r = await client.query<{ kind: string }>(
    `SELECT c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
  );
  return r.rows[0]?.kind === 'p';
}

/** Where pg_partman lives, when it is installed. */
async function partmanSchema(client: pg.ClientBase): Promise<string | undefined> {
  const r = await client.query<{ nspname: string }>(
    `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'`,
  );
  return r.rows[0]?.nspname;
}

async function rowCount(client: pg.ClientBase, rel: string): Promise<number> {
  const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${rel}`);
  return Number(r.rows[0]?.n ?? 0);
}

/** Rebuilds one table as a hypertable; returns the rows moved. */
async function convertTable(client: pg.ClientBase, schema: string, t: TableName, partman: string | undefined): Promise<number> {
  const spec = TABLE_SPECS[t];
  const old = qualified(schema, t);
  const fresh = `${t}${NEW_SUFFIX}`;
  await client.query(`LOCK TABLE ${old} IN ACCESS EXCLUSIVE MODE`);
  await client.query(createTableSql(schema, spec, false, fresh));
  await createHypertable(client, schema, t, fresh);
  const cols = spec.columns.map((c) => ident(c.name)).join(', ');
  // In batches of one partition each (a day of one table), oldest first.
  const parts = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY c.relname`,
    [old],
  );
  for (const p of parts.rows) {
    await client.query(`INSERT INTO ${qualified(schema, fresh)} (${cols}) SELECT ${cols} FROM ONLY ${qualified(schema, p.name)}`);
  }
  const before = await rowCount(client, old);
  const after = await rowCount(client, qualified(schema, fresh));
  if (before !== after) throw new Error(`${schema}.${t}: ${before} rows in the partitioned table but ${after} copied`);
  await client.query(`DROP TABLE ${old} CASCADE`);
  if (partman) {
    await client.query(`DELETE FROM ${ident(partman)}.part_config WHERE parent_table = $1`, [`${schema}.${t}`]);
    await client.query(`DROP TABLE IF EXISTS ${qualified(partman, `template_${schema}_${t}`)}`);
  }
  await client.query(`ALTER TABLE ${qualified(schema, fresh)} RENAME TO ${ident(t)}`);
  await client.query(`ALTER TABLE ${old} RENAME CONSTRAINT ${ident(`${fresh}_pkey`)} TO ${ident(`${t}_pkey`)}`);
  return after;
}

/** Every history table that is still partitioned becomes a hypertable, one transaction per table. */
export async function convertToHypertables(client: pg.ClientBase, info: SchemaInfo, log: Logger): Promise<void> {
  const partman = await partmanSchema(client);
  for (const t of TABLES) {
    await client.query('BEGIN');
    try {
      // A table converted before an interrupted upgrade is left as it is.
      if (!(await partitioned(client, info.schema, t))) {
        await client.query('ROLLBACK');
        continue;
      }
      const rows = await convertTable(client, info.schema, t, partman);
      await client.query('COMMIT');
      log.info({ schema: info.schema, table: t, rows }, 'table converted to a hypertable');
    } catch (err) {
      await client.query('ROLLBACK');
      throw new Error(`converting ${info.schema}.${t} to a hypertable failed: ${(err as Error).message}`);
    }
  }
}
