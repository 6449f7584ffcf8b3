// Enriched records for storage tests: deterministic, valid, and small.
import type { Bar, EnrichedRecord, GammaExposure, OptionQuote, Tick } from '../../../services/core/messages.ts';

export const T0 = Date.UTC(2026, 10, 20, 4, 0, 0);

export function tick(id: string, seq: number, timeMs = T0 + seq * 10, price = 25_000 + seq): Tick {
  const [segment, securityId] = id.split(':') as [Tick['instrument']['segment'], string];
  return {
    instrument: { id, symbol: 'NIFTY', segment, securityId },
    exchangeTimeMs: timeMs,
    receivedTimeMs: timeMs + 3,
    seq,
    lastPrice: price,
    lastQuantity: 75,
    volume: 1_000 + seq,
    openInterest: 0,
    averagePrice: price,
    open: 24_900,
    high: 25_100,
    low: 24_800,
    close: 24_950,
    totalBuyQuantity: 10,
    totalSellQuantity: 12,
    depth: [],
    meta: null,
    source: 'simulator',
  };
}

export function quote(
  id: string,
  strike: number,
  optionType: 'CALL' | 'PUT',
  seq: number,
  opts: { underlying?: string; expiry?: string; timeMs?: number } = {},
): OptionQuote {
  const [segment, securityId] = id.split(':') as [OptionQuote['instrument']['segment'], string];
  const timeMs = opts.timeMs ?? T0 + seq * 10;
  return {
    instrument: { id, symbol: `NIFTY ${strike} ${optionType === 'CALL' ? 'CE' : 'PE'}`, segment, securityId },
    meta: {
      underlying: opts.underlying ?? 'IDX_I:13',
      expiry: opts.expiry ?? '2026-11-26',
      strike,
      optionType,
      lotSize: 75,
      tickSize: 0.05,
    },
    exchangeTimeMs: timeMs,
    receivedTimeMs: timeMs + 5,
    seq,
    underlyingPrice: 25_000,
    price: 120.5,
    bidPrice: 120,
    askPrice: 121,
    openInterest: 150_000,
    volume: 30_000,
    timeToExpiryYears: 0.02,
    ivAvailable: true,
    iv: 0.14,
    delta: optionType === 'CALL' ? 0.52 : -0.48,
    gamma: 0.0012,
    theta: -8.1,
    vega: 9.5,
    rho: 1.2,
    gex: optionType === 'CALL' ? 1.1e9 : -0.9e9,
  };
}

export function bar(id: string, minuteStartMs: number, over: Partial<Bar> = {}): Bar {
  return {
    instrumentId: id,
    minuteStartMs,
    open: 100,
    high: 105,
    low: 99,
    close: 103,
    volume: 50,
    openInterest: 0,
    tickCount: 10,
    openTimeMs: minuteStartMs + 100,
    closeTimeMs: minuteStartMs + 59_000,
    volumeCumStart: 1_000,
    volumeCumEnd: 1_050,
    final: false,
    ...over,
  };
}

export function gex(underlyingId: string, timeMs: number, expiry = '2026-11-26'): GammaExposure {
  return {
    underlyingId,
    expiry,
    timeMs,
    spot: 25_000,
    netGex: 2e8,
    callGex: 1.1e9,
    putGex: -0.9e9,
    zeroGammaAvailable: true,
    zeroGammaLevel: 24_870.5,
    strikes: [{ strike: 25_000, callGex: 1.1e9, putGex: -0.9e9 }],
  };
}

export const rec = {
  tick: (t: Tick): EnrichedRecord => ({ schemaVersion: 1, payload: 'tick', tick: t }),
  quote: (q: OptionQuote): EnrichedRecord => ({ schemaVersion: 1, payload: 'optionQuote', optionQuote: q }),
  bar: (b: Bar): EnrichedRecord => ({ schemaVersion: 1, payload: 'bar', bar: b }),
  gex: (g: GammaExposure): EnrichedRecord => ({ schemaVersion: 1, payload: 'gex', gex: g }),
};
