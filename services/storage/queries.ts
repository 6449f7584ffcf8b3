// History reads for MarketData, each in one read-only transaction whose statement_timeout is the
// call's remaining deadline; a cancelled call cancels its backend query.
import type pg from 'pg';
import type { Bar, GammaExposure, IngestionGap, OptionChain, OptionQuote, Segment, Snapshot, Tick } from '../core/messages.ts';
import { aggregateBarsSql, groupedBarsSql } from './bars.ts';
import { type GapQuery, queryGaps } from './gaps.ts';
import { type PartitionStrategy, qualified } from './migrations.ts';
import type { BarsQuery, ChainQuery, RecentTicksQuery, TickCursor, TicksQuery } from './requests.ts';

export class NotFoundError extends Error {}

export interface QueryContext {
  /** Milliseconds the statement may run. */
  timeoutMs: number;
  /** Registers a callback run when the caller goes away; returns its remover (none if it never fires). */
  onCancel(cb: () => void): (() => void) | undefined;
}

const ms = (col: string, as: string): string => `(extract(epoch from ${col}) * 1000)::bigint AS ${as}`;

export class HistoryReader {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly strategy: PartitionStrategy | undefined;
  private readonly lookbackMs: number;
  /**
   * Without a strategy, bars wider than a minute are grouped per query (works on every schema).
   * `lookbackDays` bounds every "newest row" query from below (the ticks/quotes retention; 0 =
   * kept forever, bounded at a year) so that the planner prunes older partitions and chunks.
   */
  constructor(pool: pg.Pool, schema: string, strategy?: PartitionStrategy, opts: { lookbackDays?: number } = {}) {
    this.pool = pool;
    this.schema = schema;
    this.strategy = strategy;
    const days = opts.lookbackDays ?? 0;
    this.lookbackMs = (days > 0 ? days + 1 : MAX_LOOKBACK_DAYS) * 86_400_000;
  }

  /** Recorded ingestion gaps overlapping the query's range (gaps.ts). */
  gaps(ctx: QueryContext, q: GapQuery): Promise<IngestionGap[]> {
    return this.readOnly(ctx, (c) => queryGaps(c, this.schema, q));
  }

  /**
   * Where a "newest row" query looks, as timestamptz ranges [from, to) the planner prunes
   * partitions/chunks to: first the week before `topMs` (nearly every answer: a weekend and a
   * holiday fit in it), then — only for what the first found nothing of — the rest of the lookback
   * (empty when the lookback is shorter). Parameters: recent from, recent to, older from, older to.
   */
  private windows(topMs: number, to = 'infinity'): [string, string, string, string] {
    const iso = (t: number): string => new Date(t).toISOString();
    const recentFrom = topMs - RECENT_WINDOW_MS;
    const start = Math.min(topMs - this.lookbackMs, recentFrom);
    return [iso(recentFrom), to, iso(start), iso(recentFrom)];
  }

  private t(name: string): string {
    return qualified(this.schema, name);
  }

  /**
   * Runs fn in a read-only transaction on one pooled connection. The cancel hook lives exactly as
   * long as the query: it is removed before the connection goes back to the pool, and a connection
   * a cancel was sent to is closed rather than reused, so no later caller's query can be hit by it.
   */
  async readOnly<T>(ctx: QueryContext, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const pid = (client as unknown as { processID?: number }).processID;
    let failed: Error | undefined;
    let running = true;
    let cancelSent = false;
    const stopWatching = ctx.onCancel(() => {
      if (!running || cancelSent || pid === undefined) return;
      cancelSent = true;
      this.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    });
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(ctx.timeoutMs))}`);
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      failed = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw failed;
    } finally {
      running = false;
      stopWatching?.();
      // A cancel signal may still be on its way to this backend: close the connection instead.
      const discard = cancelSent ? (failed ?? new Error('query cancelled')) : failed;
      client.release(discard && !(discard instanceof NotFoundError) ? discard : undefined);
    }
  }

  async ticks(ctx: QueryContext, q: TicksQuery): Promise<{ ticks: Tick[]; last?: TickCursor; more: boolean }> {
    return this.readOnly(ctx, async (c) => {
      const params: unknown[] = [q.instrument, new Date(q.fromMs).toISOString(), new Date(q.toMs).toISOString(), q.limit + 1];
      let after = '';
      if (q.after) {
        params.push(new Date(q.after.timeMs).toISOString(), q.after.seq);
        after = 'AND (exchange_time, seq) > ($5::timestamptz, $6::bigint)';
      }
      const res = await c.query<TickRow>(
        `${TICK_SELECT(this.t('ticks'))}
WHERE instrument_id = $1 AND exchange_time >= $2 AND exchange_time <= $3 ${after}
ORDER BY exchange_time, seq LIMIT $4`,
        params,
      );
      const more = res.rows.length > q.limit;
      const rows = more ? res.rows.slice(0, q.limit) : res.rows;
      const ticks = rows.map(tickFromRow);
      const lastTick = ticks[ticks.length - 1];
      return { ticks, more, ...(lastTick ? { last: { timeMs: lastTick.exchangeTimeMs, seq: lastTick.seq } } : {}) };
    });
  }

  /**
   * The newest stored tick (else option quote) of each instrument, in one statement whatever the
   * number of ids (used for what Redis does not have). Instruments with neither are left out.
   */
  async latest(ctx: QueryContext, ids: readonly string[]): Promise<Map<string, Snapshot>> {
    const out = new Map<string, Snapshot>();
    if (ids.length === 0) return out;
    return this.readOnly(ctx, async (c) => {
      const res = await c.query<{ id: string; tick: TickRow | null; quote: QuoteRow | null }>(
        `SELECT ids.id, t.tick,
  CASE WHEN t.tick IS NULL THEN ${newestJson(QUOTE_SELECT(this.t('option_quotes')), 'ids.id', 2)} END AS quote
FROM unnest($1::text[]) AS ids(id)
CROSS JOIN LATERAL (SELECT ${newestJson(TICK_SELECT(this.t('ticks')), 'ids.id', 2)} AS tick) t`,
        [ids, ...this.windows(Date.now())],
      );
      for (const r of res.rows) {
        if (r.tick) {
          const tick = tickFromRow(r.tick);
          out.set(r.id, { instrumentId: r.id, timeMs: tick.exchangeTimeMs, payload: 'tick', tick });
        } else if (r.quote) {
          const optionQuote = quoteFromRow(r.quote);
          out.set(r.id, { instrumentId: r.id, timeMs: optionQuote.exchangeTimeMs, payload: 'optionQuote', optionQuote });
        }
      }
      return out;
    });
  }

  /** The newest `limit` ticks of an instrument, newest first (the older window only when the recent one falls short). */
  async recentTicks(ctx: QueryContext, q: RecentTicksQuery): Promise<Tick[]> {
    return this.readOnly(ctx, async (c) => {
      const [recentFrom, recentTo, olderFrom, olderTo] = this.windows(Date.now());
      const page = (from: string, to: string, limit: number) =>
        c.query<TickRow>(
          `${TICK_SELECT(this.t('ticks'))} WHERE instrument_id = $1 AND exchange_time >= $2 AND exchange_time < $3
ORDER BY exchange_time DESC, seq DESC LIMIT $4`,
          [q.instrument, from, to, limit],
        );
      const rows = (await page(recentFrom, recentTo, q.limit)).rows;
      if (rows.length < q.limit && olderFrom < olderTo)
        rows.push(...(await page(olderFrom, olderTo, q.limit - rows.length)).rows);
      return rows.map(tickFromRow);
    });
  }

  async bars(ctx: QueryContext, q: BarsQuery): Promise<Bar[]> {
    return this.readOnly(ctx, async (c) => {
      const range = [q.instrument, new Date(q.fromMs).toISOString(), new Date(q.toMs).toISOString()];
      const sql =
        q.interval === '1m'
          ? `SELECT instrument_id, ${ms('minute_start', 'minute_start_ms')}, open, high, low, close, volume, open_interest, tick_count,
  ${ms('open_time', 'open_time_ms')}, ${ms('close_time', 'close_time_ms')}, volume_cum_start, volume_cum_end, final
FROM ${this.t('bars_1m')} WHERE instrument_id = $1 AND minute_start >= $2 AND minute_start <= $3 ORDER BY minute_start`
          : this.strategy === 'timescaledb'
            ? aggregateBarsSql(this.schema, q.interval)
            : groupedBarsSql(this.schema, q.interval);
      const res = await c.query<BarRow>(sql, range);
      return res.rows.map(barFromRow);
    });
  }

  /** The underlying id and expiry a chain request names (a symbol resolved, "" = the nearest expiry). */
  async resolveChain(ctx: QueryContext, q: ChainQuery): Promise<{ underlyingId: string; expiry: string }> {
    if ('id' in q.underlying && q.expiry !== '') return { underlyingId: q.underlying.id, expiry: q.expiry };
    return this.readOnly(ctx, (c) => this.resolveWith(c, q));
  }

  private async resolveWith(c: pg.PoolClient, q: ChainQuery): Promise<{ underlyingId: string; expiry: string }> {
    let underlyingId: string;
    if ('id' in q.underlying) underlyingId = q.underlying.id;
    else {
      const r = await c.query<{ id: string }>(
        `SELECT id FROM ${this.t('instruments')} WHERE upper(symbol) = $1 AND underlying_id = '' ORDER BY first_seen LIMIT 1`,
        [q.underlying.symbol],
      );
      const found = r.rows[0];
      if (!found) throw new NotFoundError(`no underlying with symbol '${q.underlying.symbol}' has been stored`);
      underlyingId = found.id;
    }
    let expiry = q.expiry;
    if (expiry === '') {
      // Nearest expiry from today (IST) on; when every stored expiry has passed, the last one.
      const r = await c.query<{ expiry: string | null }>(
        `SELECT coalesce(
(SELECT min(expiry) FROM ${this.t('instruments')} WHERE underlying_id = $1 AND expiry >= (now() AT TIME ZONE 'Asia/Kolkata')::date),
(SELECT max(expiry) FROM ${this.t('instruments')} WHERE underlying_id = $1))::text AS expiry`,
        [underlyingId],
      );
      const e = r.rows[0]?.expiry;
      if (!e) throw new NotFoundError(`no option contracts of ${underlyingId} have been stored`);
      expiry = e;
    }
    return { underlyingId, expiry };
  }

  async optionChain(ctx: QueryContext, q: ChainQuery): Promise<OptionChain> {
    return this.readOnly(ctx, async (c) => {
      const { underlyingId, expiry } = await this.resolveWith(c, q);
      // Time-bounded on both sides so that only the partitions/chunks that can hold the answer are
      // read: nothing of an expiry is quoted after its day ends (+2 days of margin), nor before the lookback.
      const untilMs = Date.parse(`${expiry}T00:00:00Z`) + 2 * 86_400_000;
      const w = this.windows(Math.min(untilMs, Date.now()), new Date(untilMs).toISOString());
      const quotes = await c.query<{ row: QuoteRow | null }>(
        `SELECT ${newestJson(QUOTE_SELECT(this.t('option_quotes')), 'i.id', 3)} AS row
FROM ${this.t('instruments')} i WHERE i.underlying_id = $1 AND i.expiry = $2::date`,
        [underlyingId, expiry, ...w],
      );
      const gexIn = (from: number) =>
        `(SELECT row_to_json(g) FROM (SELECT underlying_id, expiry::text AS expiry, ${ms('time', 'time_ms')}, spot, net_gex,
  call_gex, put_gex, zero_gamma_available, zero_gamma_level, strikes
FROM ${this.t('gex')} WHERE underlying_id = $1 AND expiry = $2::date AND time >= $${from} AND time < $${from + 1}
ORDER BY time DESC LIMIT 1) g)`;
      const g = await c.query<{ row: GexRow | null }>(`SELECT coalesce(${gexIn(3)}, ${gexIn(5)}) AS row`, [
        underlyingId,
        expiry,
        ...w,
      ]);
      const list = quotes.rows.flatMap((r) => (r.row ? [quoteFromRow(r.row)] : [])).sort(byStrikeThenType);
      const gexRow = g.rows[0]?.row;
      const gex: GammaExposure | null = gexRow
        ? {
            underlyingId: gexRow.underlying_id,
            expiry: gexRow.expiry,
            timeMs: Number(gexRow.time_ms),
            spot: gexRow.spot,
            netGex: gexRow.net_gex,
            callGex: gexRow.call_gex,
            putGex: gexRow.put_gex,
            zeroGammaAvailable: gexRow.zero_gamma_available,
            zeroGammaLevel: gexRow.zero_gamma_level,
            strikes: gexRow.strikes,
          }
        : null;
      if (list.length === 0 && !gex)
        throw new NotFoundError(`no option chain of ${underlyingId} for expiry ${expiry} has been stored`);
      // Spot: from whichever is newer, the GEX row or the newest quote.
      const newest = list.reduce<OptionQuote | undefined>(
        (a, b) => (!a || b.exchangeTimeMs > a.exchangeTimeMs ? b : a),
        undefined,
      );
      const spot = gex && (!newest || gex.timeMs >= newest.exchangeTimeMs) ? gex.spot : (newest?.underlyingPrice ?? 0);
      return { underlyingId, expiry, spot, quotes: list, gex };
    });
  }
}

/** Kept-forever history: "newest row" queries still look back no further than this. */
const MAX_LOOKBACK_DAYS = 366;
/** The first window of a "newest row" query (a week: weekends and holidays fit in it). */
const RECENT_WINDOW_MS = 7 * 86_400_000;

/**
 * SQL: the newest row of `select` for the instrument `id` as JSON, looked for in the recent window
 * ($p, $p+1) and only when that holds none in the older one ($p+2, $p+3): coalesce evaluates its
 * arguments lazily, so each instrument costs one index probe per chunk of the recent week.
 */
function newestJson(select: string, id: string, p: number): string {
  const within = (from: number): string =>
    `(SELECT row_to_json(r) FROM (${select} WHERE instrument_id = ${id} AND exchange_time >= $${from} AND exchange_time < $${from + 1}
  ORDER BY exchange_time DESC, seq DESC LIMIT 1) r)`;
  return `coalesce(${within(p)}, ${within(p + 2)})`;
}

/** Chain order: strike, then CALL before PUT (as ORDER BY strike, option_type). */
export const byStrikeThenType = (a: OptionQuote, b: OptionQuote): number =>
  a.meta.strike - b.meta.strike || (a.meta.optionType < b.meta.optionType ? -1 : a.meta.optionType > b.meta.optionType ? 1 : 0);

const TICK_SELECT = (table: string): string =>
  `SELECT instrument_id, symbol, ${ms('exchange_time', 'exchange_time_ms')}, seq, ${ms('received_time', 'received_time_ms')},
  last_price, last_quantity, volume, open_interest, average_price, open, high, low, close,
  total_buy_quantity, total_sell_quantity, depth, underlying_id, source
FROM ${table}`;

const QUOTE_SELECT = (table: string): string =>
  `SELECT instrument_id, symbol, underlying_id, expiry::text AS expiry, strike, option_type, lot_size,
  ${ms('exchange_time', 'exchange_time_ms')}, seq, ${ms('received_time', 'received_time_ms')}, underlying_price, price, bid_price,
  ask_price, open_interest, volume, time_to_expiry_years, iv_available, iv, delta, gamma, theta, vega, rho, gex
FROM ${table}`;

interface TickRow {
  instrument_id: string;
  symbol: string;
  exchange_time_ms: string;
  seq: string;
  received_time_ms: string;
  last_price: number;
  last_quantity: string;
  volume: string;
  open_interest: string;
  average_price: number;
  open: number;
  high: number;
  low: number;
  close: number;
  total_buy_quantity: string;
  total_sell_quantity: string;
  depth: Tick['depth'] | null;
  underlying_id: string;
  source: string;
}

interface QuoteRow {
  instrument_id: string;
  symbol: string;
  underlying_id: string;
  expiry: string;
  strike: number;
  option_type: string;
  lot_size: number;
  exchange_time_ms: string;
  seq: string;
  received_time_ms: string;
  underlying_price: number;
  price: number;
  bid_price: number;
  ask_price: number;
  open_interest: string;
  volume: string;
  time_to_expiry_years: number;
  iv_available: boolean;
  iv: number;
  delta: number;
  gamma: number;
  theta: number;
  vega: number;
  rho: number;
  gex: number;
}

interface BarRow {
  instrument_id: string;
  minute_start_ms: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: string;
  open_interest: string;
  tick_count: number;
  open_time_ms: string;
  close_time_ms: string;
  volume_cum_start: string;
  volume_cum_end: string;
  final: boolean;
}

interface GexRow {
  underlying_id: string;
  expiry: string;
  time_ms: string;
  spot: number;
  net_gex: number;
  call_gex: number;
  put_gex: number;
  zero_gamma_available: boolean;
  zero_gamma_level: number;
  strikes: GammaExposure['strikes'];
}

/** "NSE_FNO:43521" → segment and security id. */
export function splitId(id: string): { segment: Segment; securityId: string } {
  const at = id.indexOf(':');
  return { segment: id.slice(0, at) as Segment, securityId: id.slice(at + 1) };
}

function barFromRow(r: BarRow): Bar {
  return {
    instrumentId: r.instrument_id,
    minuteStartMs: Number(r.minute_start_ms),
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    volume: Number(r.volume),
    openInterest: Number(r.open_interest),
    tickCount: r.tick_count,
    openTimeMs: Number(r.open_time_ms),
    closeTimeMs: Number(r.close_time_ms),
    volumeCumStart: Number(r.volume_cum_start),
    volumeCumEnd: Number(r.volume_cum_end),
    final: r.final,
  };
}

function tickFromRow(r: TickRow): Tick {
  return {
    instrument: { id: r.instrument_id, symbol: r.symbol, ...splitId(r.instrument_id) },
    exchangeTimeMs: Number(r.exchange_time_ms),
    receivedTimeMs: Number(r.received_time_ms),
    seq: Number(r.seq),
    lastPrice: r.last_price,
    lastQuantity: Number(r.last_quantity),
    volume: Number(r.volume),
    openInterest: Number(r.open_interest),
    averagePrice: r.average_price,
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    totalBuyQuantity: Number(r.total_buy_quantity),
    totalSellQuantity: Number(r.total_sell_quantity),
    depth: r.depth ?? [],
    meta: r.underlying_id
      ? { underlying: r.underlying_id, expiry: '', strike: 0, optionType: 'OPTION_TYPE_UNSPECIFIED', lotSize: 0, tickSize: 0 }
      : null,
    source: r.source,
  };
}

function quoteFromRow(r: QuoteRow): OptionQuote {
  return {
    instrument: { id: r.instrument_id, symbol: r.symbol, ...splitId(r.instrument_id) },
    meta: {
      underlying: r.underlying_id,
      expiry: r.expiry,
      strike: r.strike,
      optionType: r.option_type as OptionQuote['meta']['optionType'],
      lotSize: r.lot_size,
      tickSize: 0,
    },
    exchangeTimeMs: Number(r.exchange_time_ms),
    receivedTimeMs: Number(r.received_time_ms),
    seq: Number(r.seq),
    underlyingPrice: r.underlying_price,
    price: r.price,
    bidPrice: r.bid_price,
    askPrice: r.ask_price,
    openInterest: Number(r.open_interest),
    volume: Number(r.volume),
    timeToExpiryYears: r.time_to_expiry_years,
    ivAvailable: r.iv_available,
    iv: r.iv,
    delta: r.delta,
    gamma: r.gamma,
    theta: r.theta,
    vega: r.vega,
    rho: r.rho,
    gex: r.gex,
  };
}
