// MarketData request validation and page tokens. Pure: every bad argument becomes an ArgumentError
// whose message the server returns verbatim with INVALID_ARGUMENT.
import { BAR_INTERVALS, type BarInterval } from './bars.ts';

export const MAX_TICKS_LIMIT = 10_000;
export const DEFAULT_TICKS_LIMIT = 1_000;
export const MAX_INSTRUMENTS = 1_000;
export const MAX_BARS_RANGE_MS = 31 * 86_400_000;
/** 9999-12-31T23:59:59.999Z: the last instant both an ISO string and PostgreSQL's timestamptz read back. */
export const MAX_TIME_MS = 253_402_300_799_999;
const MAX_ID_LENGTH = 64;

export class ArgumentError extends Error {}

const ID = /^[A-Z_]+:[A-Za-z0-9._-]+$/;
const EXPIRY = /^\d{4}-\d{2}-\d{2}$/;

export function checkInstrumentId(id: string, field = 'instrument'): string {
  if (id === '') throw new ArgumentError(`${field} is required`);
  if (id.length > MAX_ID_LENGTH)
    throw new ArgumentError(`${field} must be at most ${MAX_ID_LENGTH} characters, got ${id.length}`);
  if (!ID.test(id)) throw new ArgumentError(`${field} '${id}' is not an instrument id like IDX_I:13`);
  return id;
}

export function checkInstrumentList(ids: readonly string[] | undefined): string[] {
  const list = ids ?? [];
  if (list.length === 0) throw new ArgumentError('instruments must name at least one instrument');
  if (list.length > MAX_INSTRUMENTS) throw new ArgumentError(`instruments must be ≤ ${MAX_INSTRUMENTS}, got ${list.length}`);
  list.forEach((id, i) => {
    checkInstrumentId(id, `instruments[${i}]`);
  });
  return [...new Set(list)];
}

function checkEpoch(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > MAX_TIME_MS) {
    throw new ArgumentError(`${field} must be an epoch in ms between ${min} and ${MAX_TIME_MS} (year 9999), got ${value}`);
  }
}

function checkRange(fromMs: number, toMs: number): void {
  checkEpoch('from_ms', fromMs, 0);
  checkEpoch('to_ms', toMs, 1);
  if (fromMs > toMs) throw new ArgumentError(`from_ms must be ≤ to_ms (from_ms ${fromMs} > to_ms ${toMs})`);
}

/** Keyset position: the last row of the previous page. */
export interface TickCursor {
  timeMs: number;
  seq: number;
}

export interface TicksQuery {
  instrument: string;
  fromMs: number;
  toMs: number;
  limit: number;
  after?: TickCursor;
}

interface TokenBody {
  v: 1;
  i: string;
  f: number;
  t: number;
  at: number;
  as: number;
}

/** Opaque base64url token; it carries the query it belongs to so it cannot be used for another. */
export function encodePageToken(q: Omit<TicksQuery, 'limit' | 'after'>, after: TickCursor): string {
  const body: TokenBody = { v: 1, i: q.instrument, f: q.fromMs, t: q.toMs, at: after.timeMs, as: after.seq };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

const FORGED = 'page_token is not a token this server issued';

export function decodePageToken(token: string, q: Omit<TicksQuery, 'limit' | 'after'>): TickCursor {
  let body: Partial<TokenBody> | null;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody> | null;
  } catch {
    throw new ArgumentError(FORGED);
  }
  if (typeof body !== 'object' || body === null || body.v !== 1) throw new ArgumentError(FORGED);
  const { at, as } = body;
  if (!Number.isSafeInteger(at) || !Number.isSafeInteger(as) || (as as number) < 0) throw new ArgumentError(FORGED);
  if (body.i !== q.instrument || body.f !== q.fromMs || body.t !== q.toMs) {
    throw new ArgumentError(
      'page_token belongs to a different query (instrument, from_ms and to_ms must not change between pages)',
    );
  }
  // A token this server issued points at a row inside its own range.
  if ((at as number) < q.fromMs || (at as number) > q.toMs) throw new ArgumentError(FORGED);
  return { timeMs: at as number, seq: as as number };
}

export function parseTicksRequest(req: {
  instrument?: string;
  fromMs?: number;
  toMs?: number;
  limit?: number;
  pageToken?: string;
}): TicksQuery {
  const instrument = checkInstrumentId(req.instrument ?? '');
  const fromMs = Number(req.fromMs ?? 0);
  const toMs = Number(req.toMs ?? 0);
  checkRange(fromMs, toMs);
  const rawLimit = Number(req.limit ?? 0);
  if (!Number.isInteger(rawLimit) || rawLimit < 0) {
    throw new ArgumentError(`limit must be 0 (the default ${DEFAULT_TICKS_LIMIT}) or a positive count, got ${rawLimit}`);
  }
  if (rawLimit > MAX_TICKS_LIMIT) throw new ArgumentError(`limit must be ≤ ${MAX_TICKS_LIMIT}, got ${rawLimit}`);
  const limit = rawLimit === 0 ? DEFAULT_TICKS_LIMIT : rawLimit;
  const base = { instrument, fromMs, toMs, limit };
  if (req.pageToken) return { ...base, after: decodePageToken(req.pageToken, base) };
  return base;
}

export const MAX_RECENT_TICKS = 1_000;
export const DEFAULT_RECENT_TICKS = 100;

export interface RecentTicksQuery {
  instrument: string;
  limit: number;
}

export function parseRecentTicksRequest(req: { instrument?: string; limit?: number }): RecentTicksQuery {
  const instrument = checkInstrumentId(req.instrument ?? '');
  const raw = Number(req.limit ?? 0);
  if (!Number.isInteger(raw) || raw < 0 || raw > MAX_RECENT_TICKS) {
    throw new ArgumentError(`limit must be 0 (the default ${DEFAULT_RECENT_TICKS}) to ${MAX_RECENT_TICKS}, got ${raw}`);
  }
  return { instrument, limit: raw === 0 ? DEFAULT_RECENT_TICKS : raw };
}

export interface BarsQuery {
  instrument: string;
  fromMs: number;
  toMs: number;
  /** Bar width; buckets whose start lies in [fromMs, toMs]. */
  interval: BarInterval;
}

export function parseBarsRequest(req: { instrument?: string; fromMs?: number; toMs?: number; interval?: string }): BarsQuery {
  const instrument = checkInstrumentId(req.instrument ?? '');
  const fromMs = Number(req.fromMs ?? 0);
  const toMs = Number(req.toMs ?? 0);
  checkRange(fromMs, toMs);
  if (toMs - fromMs > MAX_BARS_RANGE_MS) {
    throw new ArgumentError(`to_ms - from_ms must be ≤ 31 days of bars, got ${((toMs - fromMs) / 86_400_000).toFixed(1)} days`);
  }
  const raw = req.interval ?? '';
  const interval = BAR_INTERVALS.find((i) => i === (raw === '' ? '1m' : raw));
  if (!interval) throw new ArgumentError(`interval must be one of ${BAR_INTERVALS.join(', ')} (empty = 1m), got '${raw}'`);
  return { instrument, fromMs, toMs, interval };
}

export interface ChainQuery {
  /** An instrument id, or a symbol to resolve (upper-cased). */
  underlying: { id: string } | { symbol: string };
  expiry: string;
}

/** True for a YYYY-MM-DD that names a real day (no 2026-02-30, no month 13). */
export function isCalendarDate(s: string): boolean {
  if (!EXPIRY.test(s)) return false;
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  if (y < 1000) return false;
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

export function parseChainRequest(req: { underlying?: string; expiry?: string }): ChainQuery {
  const u = (req.underlying ?? '').trim();
  if (u === '') throw new ArgumentError('underlying is required (an instrument id like IDX_I:13 or a symbol like NIFTY)');
  const expiry = req.expiry ?? '';
  if (expiry !== '' && !isCalendarDate(expiry)) {
    throw new ArgumentError(
      `expiry must be YYYY-MM-DD naming a calendar day (years 1000-9999), or empty for the nearest, got '${expiry}'`,
    );
  }
  if (u.includes(':')) return { underlying: { id: checkInstrumentId(u, 'underlying') }, expiry };
  if (!/^[A-Za-z0-9&._ -]{1,64}$/.test(u)) throw new ArgumentError(`underlying '${u}' is neither an instrument id nor a symbol`);
  return { underlying: { symbol: u.toUpperCase() }, expiry };
}
