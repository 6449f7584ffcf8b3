// The gaps table: stretches of exchange time in which an ingestion shard may have missed ticks
// (ingestion/gap.ts decides them; processor passes them through). Written with the batch that
// carries them, natural key (namespace, feed, shard, from, to) so a redelivered record is one row;
// read by MarketData GetGaps and `stockify query gaps`.
import type pg from 'pg';
import type { IngestionGap } from '../core/messages.ts';
import { qualified } from './migrations.ts';
import { ArgumentError, checkInstrumentId } from './requests.ts';

export function gapsTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, 'gaps')} (
  namespace text NOT NULL,
  feed text NOT NULL,
  shard integer NOT NULL,
  from_time timestamptz NOT NULL,
  to_time timestamptz NOT NULL,
  instrument_ids text[] NOT NULL,
  detected_at timestamptz NOT NULL,
  PRIMARY KEY (namespace, feed, shard, from_time, to_time)
)`;
}

/** Inserts the gaps of one batch inside its transaction; returns the rows that were new. */
export async function insertGaps(client: pg.ClientBase, schema: string, gaps: readonly IngestionGap[]): Promise<number> {
  if (gaps.length === 0) return 0;
  let inserted = 0;
  for (const g of gaps) {
    const r = await client.query(
      `INSERT INTO ${qualified(schema, 'gaps')} (namespace, feed, shard, from_time, to_time, instrument_ids, detected_at)
VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), to_timestamp($5 / 1000.0), $6, to_timestamp($7 / 1000.0))
ON CONFLICT DO NOTHING`,
      [g.namespace, g.feed, g.shard, g.fromMs, g.toMs, g.instrumentIds, g.detectedMs],
    );
    inserted += r.rowCount ?? 0;
  }
  return inserted;
}

export interface GapQuery {
  fromMs: number;
  toMs: number;
  /** "" for every instrument. */
  instrument: string;
  limit: number;
}

export const MAX_GAPS = 1_000;
/** Year 9999: what PostgreSQL's timestamptz and a JS Date both hold. */
const MAX_EPOCH_MS = 253_402_300_799_999;

/** GetGapsRequest as typed values; a client mistake is an ArgumentError naming the field. */
export function parseGapsRequest(req: { fromMs?: number; toMs?: number; instrument?: string }): GapQuery {
  const fromMs = Number(req.fromMs ?? 0);
  const toMs = Number(req.toMs ?? 0);
  for (const [field, v] of [
    ['from_ms', fromMs],
    ['to_ms', toMs],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > MAX_EPOCH_MS)
      throw new ArgumentError(`${field} must be epoch ms in 0..${MAX_EPOCH_MS}, got ${v}`);
  }
  if (toMs !== 0 && fromMs > toMs) throw new ArgumentError(`from_ms must be ≤ to_ms (from_ms ${fromMs} > to_ms ${toMs})`);
  const instrument = req.instrument ? checkInstrumentId(req.instrument) : '';
  return { fromMs, toMs, instrument, limit: MAX_GAPS };
}

interface GapRow {
  namespace: string;
  feed: string;
  shard: number;
  from_ms: string;
  to_ms: string;
  instrument_ids: string[];
  detected_ms: string;
}

/** Gaps overlapping [fromMs, toMs] (toMs 0: until now), oldest first. */
export async function queryGaps(client: pg.ClientBase, schema: string, q: GapQuery): Promise<IngestionGap[]> {
  const r = await client.query<GapRow>(
    `SELECT namespace, feed, shard,
  (extract(epoch FROM from_time) * 1000)::bigint AS from_ms, (extract(epoch FROM to_time) * 1000)::bigint AS to_ms,
  instrument_ids, (extract(epoch FROM detected_at) * 1000)::bigint AS detected_ms
FROM ${qualified(schema, 'gaps')}
WHERE to_time >= to_timestamp($1 / 1000.0) AND ($2::bigint = 0 OR from_time <= to_timestamp($2 / 1000.0))
  AND ($3 = '' OR $3 = ANY(instrument_ids))
ORDER BY from_time, shard LIMIT $4`,
    [q.fromMs, q.toMs, q.instrument, q.limit],
  );
  return r.rows.map((row) => ({
    namespace: row.namespace,
    feed: row.feed,
    shard: row.shard,
    instrumentIds: row.instrument_ids,
    fromMs: Number(row.from_ms),
    toMs: Number(row.to_ms),
    detectedMs: Number(row.detected_ms),
  }));
}
