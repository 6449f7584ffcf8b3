// Idempotent batched history writes, one transaction per batch. Ticks, quotes and GEX are first
// COPYed straight into the history table under a savepoint: the natural key is its primary key, so
// the COPY either stores every row (the usual case: nothing seen before) or fails as a whole on the
// first duplicate. Then, and for bars always, the rows are COPYed into a temporary staging table
// and moved with INSERT ... SELECT ... ON CONFLICT on the natural key — ignored for ticks, quotes
// and GEX (a redelivered record never makes a second row), merged for bars (a bar split across
// processors or re-emitted as it grows ends up right).
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { insertGaps } from './gaps.ts';
import { ident, qualified } from './migrations.ts';
import { type BatchRows, copyLines, type InstrumentRow, TABLE_SPECS, TABLES, type TableName } from './tables.ts';

export type WriteCounts = Record<TableName, number>;

/** Rows inserted (or merged, for bars) per table by one batch. */
export interface WriteResult {
  offered: WriteCounts;
  written: WriteCounts;
}

const cols = (t: TableName): string => TABLE_SPECS[t].columns.map((c) => ident(c.name)).join(', ');
const stage = (t: TableName): string => `pg_temp.${ident(`stage_${t}`)}`;

/** After a duplicate, this many batches of that table go straight to staging (redeliveries come in runs). */
export const STAGED_AFTER_CONFLICT = 20;
const UNIQUE_VIOLATION = '23505';

/** The INSERT ... SELECT that moves a staging table into its history table. */
export function mergeSql(schema: string, t: TableName): string {
  const target = qualified(schema, t);
  const key = TABLE_SPECS[t].key.map(ident).join(', ');
  if (t !== 'bars_1m') {
    return `INSERT INTO ${target} (${cols(t)}) SELECT ${cols(t)} FROM ${stage(t)} ON CONFLICT (${key}) DO NOTHING`;
  }
  // Partial bars of one minute are first folded within the batch (one command cannot update a row
  // twice), then merged with the stored row. tick_count takes the max: re-emitted partial bars
  // carry the running count, so a sum would double-count every redelivery; a bar split by
  // resharding undercounts at worst, while volume (from cumulative volumes) stays exact.
  return `INSERT INTO ${target} (${cols(t)})
SELECT instrument_id, minute_start,
  (array_agg(open ORDER BY open_time ASC))[1],
  max(high), min(low),
  (array_agg(close ORDER BY close_time DESC))[1],
  CASE WHEN max(volume_cum_end) > 0 THEN greatest(max(volume_cum_end) - min(volume_cum_start), 0) ELSE max(volume) END,
  (array_agg(open_interest ORDER BY close_time DESC))[1],
  max(tick_count), min(open_time), max(close_time),
  min(volume_cum_start), max(volume_cum_end), bool_or(final)
FROM ${stage(t)} GROUP BY instrument_id, minute_start
ON CONFLICT (${key}) DO UPDATE SET
  open = CASE WHEN excluded.open_time < b.open_time THEN excluded.open ELSE b.open END,
  high = greatest(b.high, excluded.high),
  low = least(b.low, excluded.low),
  close = CASE WHEN excluded.close_time >= b.close_time THEN excluded.close ELSE b.close END,
  open_interest = CASE WHEN excluded.close_time >= b.close_time THEN excluded.open_interest ELSE b.open_interest END,
  volume = CASE WHEN greatest(b.volume_cum_end, excluded.volume_cum_end) > 0
    THEN greatest(greatest(b.volume_cum_end, excluded.volume_cum_end) - least(b.volume_cum_start, excluded.volume_cum_start), 0)
    ELSE greatest(b.volume, excluded.volume) END,
  tick_count = greatest(b.tick_count, excluded.tick_count),
  open_time = least(b.open_time, excluded.open_time),
  close_time = greatest(b.close_time, excluded.close_time),
  volume_cum_start = least(b.volume_cum_start, excluded.volume_cum_start),
  volume_cum_end = greatest(b.volume_cum_end, excluded.volume_cum_end),
  final = b.final OR excluded.final`.replace(`INSERT INTO ${target}`, `INSERT INTO ${target} AS b`);
}

export interface WriterOptions {
  /** Test-only: SIGKILL this process after the rows are staged and inserted, before COMMIT. */
  crashBeforeCommit?: boolean;
}

export class PgWriter {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly opts: WriterOptions;
  /** Connections that already have their staging tables (temporary tables live per session). */
  private readonly staged = new WeakSet<pg.PoolClient>();
  /** Instruments already recorded, so most batches skip the instruments upsert. */
  private readonly known = new Map<string, string>();
  /** Per table: batches left that skip the direct COPY because a recent one met a duplicate. */
  private readonly staging: Record<TableName, number> = { ticks: 0, option_quotes: 0, bars_1m: 0, gex: 0 };

  constructor(pool: pg.Pool, schema: string, opts: WriterOptions = {}) {
    this.pool = pool;
    this.schema = schema;
    this.opts = opts;
  }

  async write(batch: BatchRows): Promise<WriteResult> {
    const offered = counts((t) => batch[t].length);
    const written = counts(() => 0);
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client has no pool listener: a connection dropped mid-batch (PostgreSQL
    // stopping) would otherwise be an unhandled 'error' event and end the process. The query in
    // flight rejects with the same error, so the batch is held and retried as for any failure.
    const onError = (err: Error): void => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      if (!this.staged.has(client)) {
        for (const t of TABLES) {
          await client.query(
            `CREATE TEMPORARY TABLE IF NOT EXISTS ${ident(`stage_${t}`)} (LIKE ${qualified(this.schema, t)} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`,
          );
        }
        this.staged.add(client);
      }
      const fresh = [...batch.instruments.values()].filter((i) => this.known.get(i.id) !== JSON.stringify(i));
      await client.query('BEGIN');
      try {
        for (const t of TABLES) {
          const rows = batch[t];
          if (rows.length === 0) continue;
          const text = Buffer.from(copyLines(rows), 'utf8');
          if (t !== 'bars_1m' && this.staging[t] === 0) {
            const direct = await this.copyDirect(client, t, text);
            if (direct !== undefined) {
              written[t] = direct;
              continue;
            }
            this.staging[t] = STAGED_AFTER_CONFLICT;
          } else if (this.staging[t] > 0) {
            this.staging[t] -= 1;
          }
          await copy(client, `COPY ${stage(t)} (${cols(t)}) FROM STDIN`, text);
          const res = await client.query(mergeSql(this.schema, t));
          written[t] = res.rowCount ?? 0;
        }
        if (fresh.length > 0) await this.upsertInstruments(client, fresh);
        await insertGaps(client, this.schema, batch.gaps);
        if (this.opts.crashBeforeCommit) process.kill(process.pid, 'SIGKILL');
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      for (const i of fresh) this.known.set(i.id, JSON.stringify(i));
      return { offered, written };
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      throw broken;
    } finally {
      // A connection that failed mid-batch is discarded, not reused in an unknown state.
      client.release(broken);
      client.removeListener('error', onError);
    }
  }

  /** COPY into the history table itself; undefined (and nothing written) when a row is already there. */
  private async copyDirect(client: pg.PoolClient, t: TableName, text: Buffer): Promise<number | undefined> {
    // Not released: COMMIT ends it with the transaction (one round trip less); a later table's
    // savepoint of the same name nests inside it, and ROLLBACK TO undoes only that later COPY.
    await client.query('SAVEPOINT direct_copy');
    try {
      return await copy(client, `COPY ${qualified(this.schema, t)} (${cols(t)}) FROM STDIN`, text);
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      await client.query('ROLLBACK TO SAVEPOINT direct_copy');
      return undefined;
    }
  }

  private async upsertInstruments(client: pg.PoolClient, rows: InstrumentRow[]): Promise<void> {
    // Sorted so concurrent writers lock rows in the same order (no deadlocks).
    const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await client.query(
      `INSERT INTO ${qualified(this.schema, 'instruments')} (id, symbol, segment, security_id, underlying_id, expiry, strike, option_type)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::float8[], $8::text[])
ON CONFLICT (id) DO UPDATE SET symbol = excluded.symbol, segment = excluded.segment, security_id = excluded.security_id,
  underlying_id = excluded.underlying_id, expiry = excluded.expiry, strike = excluded.strike, option_type = excluded.option_type
WHERE (i.symbol, i.underlying_id, i.expiry, i.strike, i.option_type)
  IS DISTINCT FROM (excluded.symbol, excluded.underlying_id, excluded.expiry, excluded.strike, excluded.option_type)`.replace(
        `INTO ${qualified(this.schema, 'instruments')}`,
        `INTO ${qualified(this.schema, 'instruments')} AS i`,
      ),
      [
        sorted.map((r) => r.id),
        sorted.map((r) => r.symbol),
        sorted.map((r) => r.segment),
        sorted.map((r) => r.securityId),
        sorted.map((r) => r.underlyingId),
        sorted.map((r) => (r.expiry === '' ? null : r.expiry)),
        sorted.map((r) => r.strike),
        sorted.map((r) => r.optionType),
      ],
    );
  }
}

function counts(f: (t: TableName) => number): WriteCounts {
  return { ticks: f('ticks'), option_quotes: f('option_quotes'), bars_1m: f('bars_1m'), gex: f('gex') };
}

/** Runs one COPY ... FROM STDIN with the whole payload; resolves to the rows copied. */
async function copy(client: pg.PoolClient, sql: string, text: Buffer): Promise<number> {
  const stream = client.query(copyFrom(sql));
  stream.end(text);
  await finished(stream);
  return stream.rowCount ?? 0;
}
