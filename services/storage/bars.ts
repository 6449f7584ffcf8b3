// Bars of every timeframe, built from the 1-minute bars: open = first open, high = max, low = min,
// close = last close, volume = sum. Under TimescaleDB they are continuous aggregates (real-time: the
// current bucket is computed from bars_1m at query time); elsewhere one GROUP BY per query. Pure: SQL
// text only.
import { qualified } from './migrations.ts';

export type BarInterval = '1m' | '5m' | '15m' | '1h' | '1d';
export const BAR_INTERVALS: readonly BarInterval[] = ['1m', '5m', '15m', '1h', '1d'];
export type AggregateInterval = Exclude<BarInterval, '1m'>;
export const AGGREGATE_INTERVALS: readonly AggregateInterval[] = ['5m', '15m', '1h', '1d'];

/** Hourly and daily bars follow the exchange's clock (09:00–10:00 IST, IST days), not UTC's. */
export const EXCHANGE_TIMEZONE = 'Asia/Kolkata';

interface Timeframe {
  view: string;
  bucket: string;
  /** Refresh job: the window it re-materialises (start/end offsets from now) and how often it runs. */
  refresh: { start: string; end: string; every: string };
}

export const TIMEFRAMES: Readonly<Record<AggregateInterval, Timeframe>> = {
  '5m': { view: 'bars_5m', bucket: '5 minutes', refresh: { start: '1 day', end: '5 minutes', every: '5 minutes' } },
  '15m': { view: 'bars_15m', bucket: '15 minutes', refresh: { start: '1 day', end: '15 minutes', every: '15 minutes' } },
  '1h': { view: 'bars_1h', bucket: '1 hour', refresh: { start: '3 days', end: '1 hour', every: '1 hour' } },
  '1d': { view: 'bars_1d', bucket: '1 day', refresh: { start: '7 days', end: '1 day', every: '1 hour' } },
};

/** Minute buckets line up the same in UTC and IST (+05:30); hours and days need the exchange's zone. */
const zoned = (i: AggregateInterval): boolean => i === '1h' || i === '1d';

/** The time_bucket of a timeframe (TimescaleDB). */
function timeBucket(i: AggregateInterval): string {
  const b = TIMEFRAMES[i].bucket;
  return zoned(i)
    ? `time_bucket(interval '${b}', minute_start, '${EXCHANGE_TIMEZONE}')`
    : `time_bucket(interval '${b}', minute_start)`;
}

/** The same buckets in plain PostgreSQL. */
export function plainBucket(i: AggregateInterval): string {
  if (i === '1d') return `date_trunc('day', minute_start, '${EXCHANGE_TIMEZONE}')`;
  if (i === '1h') return `date_trunc('hour', minute_start, '${EXCHANGE_TIMEZONE}')`;
  return `date_bin(interval '${TIMEFRAMES[i].bucket}', minute_start, timestamptz '2000-01-01 00:00:00+00')`;
}

export function continuousAggregateSql(schema: string, i: AggregateInterval): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(schema, TIMEFRAMES[i].view)}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT instrument_id, ${timeBucket(i)} AS bucket,
  first(open, minute_start) AS open, max(high) AS high, min(low) AS low, last(close, minute_start) AS close,
  sum(volume) AS volume, last(open_interest, minute_start) AS open_interest, sum(tick_count) AS tick_count,
  min(open_time) AS open_time, max(close_time) AS close_time,
  min(volume_cum_start) AS volume_cum_start, max(volume_cum_end) AS volume_cum_end, bool_and(final) AS final
FROM ${qualified(schema, 'bars_1m')}
GROUP BY instrument_id, bucket
WITH NO DATA`;
}

export function refreshPolicySql(schema: string, i: AggregateInterval): string {
  const r = TIMEFRAMES[i].refresh;
  return `SELECT add_continuous_aggregate_policy('${qualified(schema, TIMEFRAMES[i].view)}'::regclass,
  start_offset => interval '${r.start}', end_offset => interval '${r.end}', schedule_interval => interval '${r.every}', if_not_exists => true)`;
}

const ms = (col: string): string => `(extract(epoch from ${col}) * 1000)::bigint`;

/** Bars of one instrument whose bucket starts within [$2, $3], from the continuous aggregate. */
export function aggregateBarsSql(schema: string, i: AggregateInterval): string {
  return `SELECT instrument_id, ${ms('bucket')} AS minute_start_ms, open, high, low, close, volume::bigint AS volume,
  open_interest, tick_count::integer AS tick_count, ${ms('open_time')} AS open_time_ms, ${ms('close_time')} AS close_time_ms,
  volume_cum_start, volume_cum_end, final
FROM ${qualified(schema, TIMEFRAMES[i].view)} WHERE instrument_id = $1 AND bucket >= $2 AND bucket <= $3 ORDER BY bucket`;
}

/** The same bars computed from bars_1m at query time (pg_partman or self-partitioned schemas). */
export function groupedBarsSql(schema: string, i: AggregateInterval): string {
  const width = `interval '${TIMEFRAMES[i].bucket}'`;
  return `SELECT instrument_id, ${ms('bucket')} AS minute_start_ms,
  (array_agg(open ORDER BY minute_start))[1] AS open, max(high) AS high, min(low) AS low,
  (array_agg(close ORDER BY minute_start DESC))[1] AS close, sum(volume)::bigint AS volume,
  (array_agg(open_interest ORDER BY minute_start DESC))[1] AS open_interest, sum(tick_count)::integer AS tick_count,
  ${ms('min(open_time)')} AS open_time_ms, ${ms('max(close_time)')} AS close_time_ms,
  min(volume_cum_start) AS volume_cum_start, max(volume_cum_end) AS volume_cum_end, bool_and(final) AS final
FROM (SELECT *, ${plainBucket(i)} AS bucket FROM ${qualified(schema, 'bars_1m')}
  WHERE instrument_id = $1 AND minute_start >= $2::timestamptz - ${width} AND minute_start < $3::timestamptz + ${width}) b
WHERE bucket >= $2 AND bucket <= $3
GROUP BY instrument_id, bucket ORDER BY bucket`;
}
