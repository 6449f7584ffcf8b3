// The console's view model: pure functions from the gateway's JSON to what the page shows
// (formatted numbers, chain rows, the ATM strike, where the zero-gamma line goes, candles, shard
// rows). No DOM and no I/O, so that they are unit-tested under Node (tests/unit/gateway/console*).
import type {
  Bar,
  CatalogueEntry,
  Chain,
  ChainContract,
  OptionQuote,
  Problem,
  ShardStatus,
  Snapshot,
  StatusReport,
  Tick,
} from './types.ts';

const DASH = '—';
/** India Standard Time is UTC+05:30 all year (no daylight saving). */
export const IST_OFFSET_MS = 19_800_000;

const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

const grouped = (digits: number) =>
  new Intl.NumberFormat('en-IN', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const PRICE = grouped(2);
const INTEGER = grouped(0);

/** Rupees with Indian digit grouping and two decimals: 24,350.05. */
export function formatPrice(n: number | null | undefined): string {
  return finite(n) ? PRICE.format(n) : DASH;
}

/** A signed percentage with two decimals: +0.42 %, −1.20 %. */
export function formatChangePercent(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const text = `${Math.abs(n).toFixed(2)} %`;
  return n > 0 ? `+${text}` : n < 0 ? `−${text}` : text;
}

/** Implied volatility (per unit) as a percentage: 0.1325 → 13.3 %; null when not solvable. */
export function formatIv(iv: number | null | undefined): string {
  return finite(iv) ? `${(iv * 100).toFixed(1)} %` : DASH;
}

/** Δ with three decimals (−1 … 1). */
export function formatDelta(d: number | null | undefined): string {
  return finite(d) ? d.toFixed(3) : DASH;
}

/** Γ per rupee of spot is small (index options ~0.0005): four significant digits. */
export function formatGamma(g: number | null | undefined): string {
  if (!finite(g)) return DASH;
  if (g === 0) return '0';
  return Math.abs(g) >= 0.01 ? g.toFixed(4) : g.toPrecision(3);
}

/** Large counts the Indian way: 12,345 · 1.23 L (lakh, 1e5) · 4.56 Cr (crore, 1e7). */
export function formatCompact(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const a = Math.abs(n);
  const sign = n < 0 ? '−' : '';
  if (a >= 1e7) return `${sign}${(a / 1e7).toFixed(2)} Cr`;
  if (a >= 1e5) return `${sign}${(a / 1e5).toFixed(2)} L`;
  return `${sign}${INTEGER.format(a)}`;
}

/** GEX (rupees per 1 % move of spot), signed: +₹12.34 Cr. */
export function formatGex(n: number | null | undefined): string {
  if (!finite(n)) return DASH;
  const body = formatCompact(Math.abs(n));
  return n > 0 ? `+₹${body}` : n < 0 ? `−₹${body}` : `₹${body}`;
}

/** Epoch ms as IST wall-clock time HH:MM:SS (the exchange's clock, whatever the browser's zone). */
export function formatTimeIst(ms: number | null | undefined): string {
  if (!finite(ms) || ms <= 0) return DASH;
  return new Date(ms + IST_OFFSET_MS).toISOString().slice(11, 19);
}

/** What a refused or failed request tells the user; 401 and 403 read as login errors. */
export function problemText(p: Problem): string {
  const detail = p.detail ?? p.title ?? `HTTP ${p.status}`;
  if (p.status === 401) return `Login failed: the token was not accepted (${detail})`;
  if (p.status === 403) return `Login failed: the token lacks a scope the console needs (${detail})`;
  return detail;
}

// --- index tiles --------------------------------------------------------------------------------

export interface TileView {
  id: string;
  symbol: string;
  price: number;
  /** Change against the previous close; null when the source gives none. */
  change: number | null;
  changePercent: number | null;
  timeMs: number;
}

/** An index tile from a snapshot (a tick); undefined for a snapshot without one. */
export function tileOf(s: Snapshot): TileView | undefined {
  const t: Tick | null | undefined = s.tick;
  if (!t || !finite(t.lastPrice)) return undefined;
  const prev = finite(t.close) && t.close > 0 ? t.close : null;
  return {
    id: s.instrumentId,
    symbol: t.instrument?.symbol || s.instrumentId,
    price: t.lastPrice,
    change: prev === null ? null : t.lastPrice - prev,
    changePercent: prev === null ? null : ((t.lastPrice - prev) / prev) * 100,
    timeMs: t.exchangeTimeMs || s.timeMs,
  };
}

/** Direction of a move for the tile's flash: up, down or none. */
export function direction(before: number | undefined, after: number): 'up' | 'down' | 'flat' {
  if (before === undefined || before === after) return 'flat';
  return after > before ? 'up' : 'down';
}

/** The index ids to show as tiles, in catalogue order (its search puts shorter symbols first). */
export function indexIds(entries: readonly CatalogueEntry[], max = 8): string[] {
  return entries
    .filter((e) => e.segment === 'IDX_I' && !e.optionType)
    .slice(0, max)
    .map((e) => e.id);
}

/** Underlyings with option contracts among catalogue entries, most contracts first. */
export function chainUnderlyings(entries: readonly CatalogueEntry[]): string[] {
  const counts = new Map<string, number>();
  for (const e of entries) if (e.optionType && e.underlying) counts.set(e.underlying, (counts.get(e.underlying) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([id]) => id);
}

// --- option chain -----------------------------------------------------------------------------

export interface ChainSide {
  id: string;
  price: number;
  iv: number | null;
  delta: number;
  gamma: number;
  openInterest: number;
  gex: number;
}

export interface ChainRow {
  strike: number;
  call?: ChainSide;
  put?: ChainSide;
  /** Calls' + puts' GEX at the strike (puts negative). */
  netGex: number;
}

/** A chain contract from a live option quote (the same fields the REST chain gives). */
export function contractOfQuote(q: OptionQuote): ChainContract | undefined {
  const type = q.meta?.optionType;
  if (type !== 'CALL' && type !== 'PUT') return undefined;
  return {
    id: q.instrument.id,
    symbol: q.instrument.symbol,
    strike: q.meta.strike,
    optionType: type,
    price: q.price,
    iv: q.ivAvailable ? q.iv : null,
    delta: q.delta,
    gamma: q.gamma,
    openInterest: q.openInterest,
    gex: q.gex,
    timeMs: q.exchangeTimeMs,
  };
}

/** One row per strike, ascending, calls and puts side by side; net GEX per strike from the contracts. */
export function chainRows(contracts: Iterable<ChainContract>): ChainRow[] {
  const rows = new Map<number, ChainRow>();
  for (const c of contracts) {
    if (!finite(c.strike)) continue;
    const row = rows.get(c.strike) ?? { strike: c.strike, netGex: 0 };
    const side: ChainSide = {
      id: c.id,
      price: c.price,
      iv: c.iv,
      delta: c.delta,
      gamma: c.gamma,
      openInterest: c.openInterest,
      gex: c.gex,
    };
    if (c.optionType === 'CALL') row.call = side;
    else row.put = side;
    row.netGex = (row.call?.gex ?? 0) + (row.put?.gex ?? 0);
    rows.set(c.strike, row);
  }
  return [...rows.values()].sort((a, b) => a.strike - b.strike);
}

/** The at-the-money strike: the one nearest to spot (the lower one on a tie); undefined without strikes or spot. */
export function atmStrike(strikes: readonly number[], spot: number): number | undefined {
  if (!finite(spot) || spot <= 0) return undefined;
  let best: number | undefined;
  for (const k of strikes) {
    if (!finite(k)) continue;
    if (
      best === undefined ||
      Math.abs(k - spot) < Math.abs(best - spot) ||
      (Math.abs(k - spot) === Math.abs(best - spot) && k < best)
    )
      best = k;
  }
  return best;
}

export interface ZeroGammaLine {
  /** The line goes before row `index` of the ascending rows (rows.length: after the last). */
  index: number;
  level: number;
  /** Outside the strikes shown, the line sits at that edge. */
  where: 'inside' | 'below' | 'above';
}

/** Where the zero-gamma line goes among ascending strikes; null when the chain has no zero gamma. */
export function zeroGammaLine(strikes: readonly number[], level: number | null | undefined): ZeroGammaLine | null {
  if (!finite(level) || strikes.length === 0) return null;
  const first = strikes[0] as number;
  const last = strikes[strikes.length - 1] as number;
  if (level < first) return { index: 0, level, where: 'below' };
  if (level > last) return { index: strikes.length, level, where: 'above' };
  let index = strikes.findIndex((k) => k > level);
  if (index === -1) index = strikes.length;
  return { index, level, where: 'inside' };
}

/** The longest |net GEX| bar among rows (for scaling the bars); 0 when all are 0. */
export function maxAbsGex(rows: readonly ChainRow[]): number {
  return rows.reduce((m, r) => Math.max(m, Math.abs(r.netGex)), 0);
}

/** The expiry to show: the one asked for when the chain still lists it, else the chain's own. */
export function pickExpiry(chain: Pick<Chain, 'expiry' | 'expiries'>, wanted: string | undefined): string {
  return wanted && chain.expiries.includes(wanted) ? wanted : chain.expiry;
}

// --- candles ----------------------------------------------------------------------------------

/** A candle for lightweight-charts: `time` in seconds, shifted to IST so the axis reads exchange time. */
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

const minuteOf = (ms: number): number => Math.floor(ms / 60_000) * 60_000;
const chartTime = (minuteStartMs: number): number => (minuteStartMs + IST_OFFSET_MS) / 1000;

/** Stored 1-minute bars as candles, ascending by time, one per minute (the later bar wins). */
export function candlesOf(bars: readonly Bar[]): Candle[] {
  const byTime = new Map<number, Candle>();
  for (const b of bars) {
    if (![b.minuteStartMs, b.open, b.high, b.low, b.close].every(finite)) continue;
    const time = chartTime(minuteOf(b.minuteStartMs));
    byTime.set(time, { time, open: b.open, high: b.high, low: b.low, close: b.close });
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/**
 * The candle a live price makes of the last one: the same minute widens it and moves its close, a
 * later minute opens a new candle, an earlier one (a late tick) changes nothing (undefined).
 */
export function candleWithPrice(last: Candle | undefined, price: number, timeMs: number): Candle | undefined {
  if (!finite(price) || !finite(timeMs) || timeMs <= 0) return undefined;
  const time = chartTime(minuteOf(timeMs));
  if (!last || time > last.time) return { time, open: price, high: price, low: price, close: price };
  if (time < last.time) return undefined;
  return { time, open: last.open, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price };
}

/** The traded price and its time in a snapshot (a tick's last price or an option's price). */
export function priceOf(s: Snapshot): { price: number; timeMs: number } | undefined {
  if (s.tick && finite(s.tick.lastPrice)) return { price: s.tick.lastPrice, timeMs: s.tick.exchangeTimeMs || s.timeMs };
  if (s.optionQuote && finite(s.optionQuote.price))
    return { price: s.optionQuote.price, timeMs: s.optionQuote.exchangeTimeMs || s.timeMs };
  return undefined;
}

// --- shard status -----------------------------------------------------------------------------

export interface ShardRow {
  key: string;
  shard: string;
  component: string;
  instruments: number;
  ticksPerSecond: string;
  lag: number;
  errors: number;
  state: string;
  lastTick: string;
  healthy: boolean;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0)) || 0;

/** One row per shard process, by shard then component; unreachable endpoints as unhealthy rows. */
export function shardRows(report: StatusReport, nowMs: number, staleMs = 30_000): ShardRow[] {
  const order = ['ingestion', 'processor', 'storage'];
  const rows = report.shards.map((s: ShardStatus): ShardRow => {
    const last = num(s.lastTickMs);
    const state = s.connectionState || 'OK';
    const stale = last > 0 && nowMs - last > staleMs;
    return {
      key: `${s.component}-${num(s.shardIndex)}`,
      shard: `${num(s.shardIndex)}/${num(s.shardCount)}`,
      component: s.component,
      instruments: num(s.instruments),
      ticksPerSecond: num(s.ticksPerSecond).toFixed(1),
      lag: num(s.lag),
      errors: num(s.errors),
      state: stale ? `${state} (quiet ${Math.round((nowMs - last) / 1000)} s)` : state,
      lastTick: formatTimeIst(last),
      healthy: !stale && /^(OK|CONNECTED|SUBSCRIBED|RUNNING|READY|)$/i.test(s.connectionState ?? ''),
    };
  });
  rows.sort(
    (a, b) =>
      a.shard.localeCompare(b.shard, 'en', { numeric: true }) ||
      (order.indexOf(a.component) + 1 || 9) - (order.indexOf(b.component) + 1 || 9),
  );
  for (const u of report.unreachable) {
    rows.push({
      key: `unreachable-${u.endpoint}`,
      shard: DASH,
      component: u.endpoint,
      instruments: 0,
      ticksPerSecond: DASH,
      lag: 0,
      errors: 0,
      state: `unreachable: ${u.error}`,
      lastTick: DASH,
      healthy: false,
    });
  }
  return rows;
}

// --- live messages ----------------------------------------------------------------------------

export type LiveMessage =
  | { type: 'quote'; instrument: string; snapshot: Snapshot }
  | { type: 'subscribed' | 'unsubscribed'; instruments: string[] }
  | { type: 'error'; problem: Problem };

/** A WebSocket text message of /v1/ws, checked once; undefined for anything else. */
export function parseLiveMessage(text: string): LiveMessage | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!msg || typeof msg !== 'object') return undefined;
  const m = msg as Record<string, unknown>;
  if (m.type === 'quote' && typeof m.instrument === 'string' && m.snapshot && typeof m.snapshot === 'object')
    return { type: 'quote', instrument: m.instrument, snapshot: m.snapshot as Snapshot };
  if ((m.type === 'subscribed' || m.type === 'unsubscribed') && Array.isArray(m.instruments))
    return { type: m.type, instruments: m.instruments.filter((i): i is string => typeof i === 'string') };
  if (m.type === 'error' && m.problem && typeof m.problem === 'object') return { type: 'error', problem: m.problem as Problem };
  return undefined;
}
