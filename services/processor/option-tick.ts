// A tick of an option contract streamed live → its OptionQuote, IV and Greeks solved on the
// underlying's latest spot, the same row a chain snapshot gives for that contract. Pure.
import type { InstrumentMeta, OptionQuote, Tick } from '../core/messages.ts';
import type { Pricing } from './chain.ts';
import { OPTION_TICK_SIZE } from './chain.ts';
import { allocateGreeksBatch, type ContractBatch, solveBatch } from './greeks.ts';
import { roundToTick, timeToExpiryYears } from './normalise.ts';

/** GEX is reported per 1% move of the underlying (as chain.ts). */
const GEX_SCALE = 0.01;

// One contract through the chain's batch solver, so a tick and a chain row of the same inputs give
// the same numbers to the last bit. Reused: processing is synchronous, one record at a time.
const input: ContractBatch = {
  spot: new Float64Array(1),
  strike: new Float64Array(1),
  t: new Float64Array(1),
  rate: new Float64Array(1),
  dividendYield: new Float64Array(1),
  price: new Float64Array(1),
  isCall: new Uint8Array(1),
};
const out = allocateGreeksBatch(1);

/** The latest spot of each underlying, by event time: an older price never replaces a newer one. */
export class SpotBook {
  private readonly spots = new Map<string, { price: number; timeMs: number }>();

  set(underlyingId: string, price: number, timeMs: number): void {
    if (!(Number.isFinite(price) && price > 0)) return;
    const prev = this.spots.get(underlyingId);
    if (!prev || timeMs >= prev.timeMs) this.spots.set(underlyingId, { price, timeMs });
  }

  get(underlyingId: string): number | undefined {
    return this.spots.get(underlyingId)?.price;
  }
}

/** Whether a tick's own meta describes an option contract (underlying, expiry, strike, right). */
export function isOptionMeta(meta: InstrumentMeta | null | undefined): meta is InstrumentMeta {
  return (
    !!meta &&
    (meta.optionType === 'CALL' || meta.optionType === 'PUT') &&
    meta.underlying !== '' &&
    Number.isFinite(meta.strike) &&
    meta.strike > 0 &&
    timeToExpiryYears(meta.expiry, 0) !== undefined
  );
}

/**
 * The quote of an option tick (validated, time-normalised to `timeMs`, prices on its tick grid) with
 * the underlying at `spot`: price = last traded price, bid/ask = best depth level, OI and volume as
 * the tick carries them, GEX = ±Γ × OI × S² × 0.01 (calls +, puts −) as chain.ts computes it.
 */
export function optionTickQuote(tick: Tick, meta: InstrumentMeta, timeMs: number, spot: number, pricing: Pricing): OptionQuote {
  const t = timeToExpiryYears(meta.expiry, timeMs) ?? 0;
  const best = tick.depth[0];
  const price = roundToTick(tick.lastPrice, OPTION_TICK_SIZE);
  const call = meta.optionType === 'CALL';
  input.spot[0] = spot;
  input.strike[0] = meta.strike;
  input.t[0] = t;
  input.rate[0] = pricing.riskFreeRate;
  input.dividendYield[0] = pricing.dividendYield;
  input.price[0] = price;
  input.isCall[0] = call ? 1 : 0;
  solveBatch(input, out, 1);
  const gamma = out.gamma[0] as number;
  return {
    instrument: tick.instrument,
    meta,
    exchangeTimeMs: timeMs,
    receivedTimeMs: tick.receivedTimeMs,
    seq: tick.seq,
    underlyingPrice: spot,
    price,
    bidPrice: best ? roundToTick(best.bidPrice, OPTION_TICK_SIZE) : 0,
    askPrice: best ? roundToTick(best.askPrice, OPTION_TICK_SIZE) : 0,
    openInterest: tick.openInterest,
    volume: tick.volume,
    timeToExpiryYears: t,
    ivAvailable: out.ivAvailable[0] === 1,
    iv: out.iv[0] as number,
    delta: out.delta[0] as number,
    gamma,
    theta: out.theta[0] as number,
    vega: out.vega[0] as number,
    rho: out.rho[0] as number,
    gex: (call ? 1 : -1) * gamma * tick.openInterest * (spot * spot * GEX_SCALE),
  };
}
