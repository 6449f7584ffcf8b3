// Dhan option-chain REST: POST /optionchain/expirylist and /optionchain, one request per 3 s
// across the process (Dhan's limit), behind a circuit breaker. Responses become
// OptionChainSnapshot records.
import { instrumentId, type OptionChainSnapshot, type RawRecord, type Segment } from '../../core/messages.ts';
import { SCHEMA_VERSION } from '../../core/proto.ts';
import { SeqClock } from '../seq.ts';
import { optionSecurityId } from '../simulator/ids.ts';
import type { ScripMaster } from './scrip-master.ts';

export class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface ChainUnderlying {
  segment: Segment;
  securityId: string;
  symbol: string;
  optionSegment: Segment;
  lotSize: number;
  expiries: number;
  strikes: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const num = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : 0;

/** The expiries of an /optionchain/expirylist response, sorted. */
export function parseExpiryList(body: unknown): string[] {
  const data = obj(body)?.data;
  if (!Array.isArray(data)) throw new Error('expiry list response has no data array');
  return data.filter((d): d is string => typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
}

/**
 * An /optionchain response as a snapshot, keeping the `strikes` strikes nearest the spot. A leg's
 * security id is taken from the response, else from the scrip master, else derived by hash (as the
 * simulator does) so that it is stable.
 */
export function parseOptionChain(
  body: unknown,
  u: ChainUnderlying,
  expiry: string,
  nowMs: number,
  seq: number,
  master?: ScripMaster,
): OptionChainSnapshot {
  const data = obj(obj(body)?.data);
  if (!data) throw new Error('option chain response has no data object');
  const spot = num(data.last_price);
  const oc = obj(data.oc);
  if (!oc) throw new Error('option chain response has no oc object');
  const underlyingId = instrumentId(u.segment, u.securityId);
  const strikes = Object.keys(oc)
    .map((k) => ({ key: k, strike: Number(k) }))
    .filter((s) => Number.isFinite(s.strike) && s.strike > 0)
    .sort((a, b) => Math.abs(a.strike - spot) - Math.abs(b.strike - spot))
    .slice(0, u.strikes)
    .sort((a, b) => a.strike - b.strike);
  const rows: OptionChainSnapshot['rows'] = strikes.map(({ key, strike }) => {
    const row = obj(oc[key]) ?? {};
    const leg = (side: 'ce' | 'pe') => {
      const l = obj(row[side]);
      if (!l) return null;
      const type = side === 'ce' ? 'CE' : 'PE';
      const fromResponse = num(l.security_id);
      const securityId =
        fromResponse > 0
          ? String(fromResponse)
          : (master?.option(u.symbol, expiry, strike, type)?.securityId ?? optionSecurityId(underlyingId, expiry, strike, type));
      return {
        instrument: {
          id: instrumentId(u.optionSegment, securityId),
          symbol: `${u.symbol} ${expiry} ${strike} ${type}`,
          segment: u.optionSegment,
          securityId,
        },
        lastPrice: num(l.last_price),
        bidPrice: num(l.top_bid_price),
        askPrice: num(l.top_ask_price),
        bidQuantity: Math.trunc(num(l.top_bid_quantity)),
        askQuantity: Math.trunc(num(l.top_ask_quantity)),
        openInterest: Math.trunc(num(l.oi)),
        volume: Math.trunc(num(l.volume)),
        sourceIv: num(l.implied_volatility),
      };
    };
    return { strike, call: leg('ce'), put: leg('pe') };
  });
  return {
    underlying: { id: underlyingId, symbol: u.symbol, segment: u.segment, securityId: u.securityId },
    expiry,
    exchangeTimeMs: nowMs,
    receivedTimeMs: nowMs,
    seq,
    underlyingPrice: spot,
    lotSize: u.lotSize,
    rows,
    source: 'dhan',
  };
}

export interface RestOptions {
  apiUrl: string;
  clientId: string;
  accessToken: string;
  timeoutMs?: number;
}

export async function postJson(opts: RestOptions, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${opts.apiUrl.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'access-token': opts.accessToken,
      'client-id': opts.clientId,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new HttpStatusError(res.status, `POST ${path} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`POST ${path} answered non-JSON: ${text.slice(0, 200)}`);
  }
}

/** The request plan: expiry lists first, then a round-robin over every (underlying, expiry). */
export class ChainPlanner {
  private readonly underlyings: readonly ChainUnderlying[];
  private readonly expiries = new Map<string, string[]>();
  private cursor = 0;
  readonly seq = new SeqClock();

  constructor(underlyings: readonly ChainUnderlying[]) {
    this.underlyings = underlyings;
  }

  setExpiries(u: ChainUnderlying, list: string[]): void {
    this.expiries.set(u.securityId + u.segment, list.slice(0, u.expiries));
  }

  /** The next request to make. */
  next(): { kind: 'expirylist'; u: ChainUnderlying } | { kind: 'chain'; u: ChainUnderlying; expiry: string } | undefined {
    const missing = this.underlyings.find((u) => !this.expiries.has(u.securityId + u.segment));
    if (missing) return { kind: 'expirylist', u: missing };
    const pairs = this.underlyings.flatMap((u) =>
      (this.expiries.get(u.securityId + u.segment) ?? []).map((expiry) => ({ u, expiry })),
    );
    if (pairs.length === 0) return undefined;
    const p = pairs[this.cursor++ % pairs.length];
    return p ? { kind: 'chain', ...p } : undefined;
  }

  /** Forget the expiry lists (e.g. after an expiry day) so they are fetched again. */
  refresh(): void {
    this.expiries.clear();
  }
}

export function chainRecord(snapshot: OptionChainSnapshot): RawRecord {
  return { schemaVersion: SCHEMA_VERSION, payload: 'chain', chain: snapshot };
}
