// An option-chain snapshot split into one OptionQuote per contract (IV and Greeks solved for the
// whole chain in one batch) and the chain's gamma exposure. Pure.
//
// Open interest is in units of the underlying (contracts × lot size), as NSE's feeds and Dhan's
// option chain report it, so the contract multiplier for GEX is 1 per unit of OI:
//   GEX = Γ × OI(units) × S² × 0.01   (calls +, puts −)
// which equals Γ × OI(lots) × lotSize × S² × 0.01 for a source quoting lots.

import type { GammaExposure, GexStrike, InstrumentMeta, OptionChainSnapshot, OptionQuote } from '../core/messages.ts';
import type { Contract } from './black-scholes.ts';
import { allocateGreeksBatch, bsmGreeks, type ContractBatch, solveBatch, zeroGreeks } from './greeks.ts';
import { roundToTick, timeToExpiryYears } from './normalise.ts';

export interface Pricing {
  riskFreeRate: number;
  dividendYield: number;
}

/** NSE index and stock options trade in 0.05 ticks. */
export const OPTION_TICK_SIZE = 0.05;
/** GEX is reported per 1% move of the underlying. */
const GEX_SCALE = 0.01;
/** Zero-gamma search: spot grid ±10% around the current spot. */
const ZERO_GAMMA_RANGE = 0.1;
const ZERO_GAMMA_GRID = 40;

export interface SplitChain {
  quotes: OptionQuote[];
  gex: GammaExposure;
  ivFailures: number;
}

interface Leg {
  quote: OptionQuote;
  sign: 1 | -1;
}

type ChainRow = OptionChainSnapshot['rows'][number];

/** What a chain says about one of its contracts. */
function contractMeta(chain: OptionChainSnapshot, row: ChainRow, optionType: 'CALL' | 'PUT'): InstrumentMeta {
  return {
    underlying: chain.underlying.id,
    expiry: chain.expiry,
    strike: row.strike,
    optionType,
    lotSize: chain.lotSize,
    tickSize: OPTION_TICK_SIZE,
  };
}

/** Meta of each contract of a chain, keyed by contract id (for ticks of option contracts). */
export function chainMetas(chain: OptionChainSnapshot): Map<string, InstrumentMeta> {
  const metas = new Map<string, InstrumentMeta>();
  for (const row of chain.rows) {
    for (const [leg, optionType] of [
      [row.call, 'CALL'],
      [row.put, 'PUT'],
    ] as const) {
      if (!leg?.instrument?.id) continue;
      metas.set(leg.instrument.id, contractMeta(chain, row, optionType));
    }
  }
  return metas;
}

/** Splits a (validated, time-normalised) snapshot; `timeMs` is its event time in UTC ms. */
export function splitChain(chain: OptionChainSnapshot, timeMs: number, pricing: Pricing): SplitChain {
  const t = timeToExpiryYears(chain.expiry, timeMs) ?? 0;
  const legs = chainLegs(chain, timeMs, t);
  const ivFailures = solveLegs(legs, chain.underlyingPrice, t, pricing);
  return { quotes: legs.map((l) => l.quote), ivFailures, gex: gammaExposure(chain, legs, timeMs, t, pricing) };
}

/** One quote per contract of the chain, prices on the option tick grid, IV and Greeks not solved yet. */
function chainLegs(chain: OptionChainSnapshot, timeMs: number, t: number): Leg[] {
  const legs: Leg[] = [];
  for (const row of chain.rows) {
    for (const [leg, optionType, sign] of [
      [row.call, 'CALL', 1],
      [row.put, 'PUT', -1],
    ] as const) {
      if (!leg?.instrument?.id) continue;
      const quote: OptionQuote = {
        instrument: leg.instrument,
        meta: contractMeta(chain, row, optionType),
        exchangeTimeMs: timeMs,
        receivedTimeMs: chain.receivedTimeMs,
        seq: chain.seq,
        underlyingPrice: chain.underlyingPrice,
        price: roundToTick(leg.lastPrice, OPTION_TICK_SIZE),
        bidPrice: roundToTick(leg.bidPrice, OPTION_TICK_SIZE),
        askPrice: roundToTick(leg.askPrice, OPTION_TICK_SIZE),
        openInterest: leg.openInterest,
        volume: leg.volume,
        timeToExpiryYears: t,
        ivAvailable: false,
        iv: 0,
        delta: 0,
        gamma: 0,
        theta: 0,
        vega: 0,
        rho: 0,
        gex: 0,
      };
      legs.push({ quote, sign });
    }
  }
  return legs;
}

/** Solves IV and Greeks of every leg in one batch and sets each leg's GEX; returns the IV failures. */
function solveLegs(legs: Leg[], spot: number, t: number, pricing: Pricing): number {
  const n = legs.length;
  const input: ContractBatch = {
    spot: new Float64Array(n).fill(spot),
    strike: new Float64Array(n),
    t: new Float64Array(n).fill(t),
    rate: new Float64Array(n).fill(pricing.riskFreeRate),
    dividendYield: new Float64Array(n).fill(pricing.dividendYield),
    price: new Float64Array(n),
    isCall: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const leg = legs[i] as Leg;
    input.strike[i] = leg.quote.meta.strike;
    input.price[i] = leg.quote.price;
    input.isCall[i] = leg.sign === 1 ? 1 : 0;
  }
  const out = allocateGreeksBatch(n);
  const ivFailures = solveBatch(input, out, n);
  const scale = spot * spot * GEX_SCALE;
  for (let i = 0; i < n; i++) {
    const { quote, sign } = legs[i] as Leg;
    quote.ivAvailable = out.ivAvailable[i] === 1;
    quote.iv = out.iv[i] as number;
    quote.delta = out.delta[i] as number;
    quote.gamma = out.gamma[i] as number;
    quote.theta = out.theta[i] as number;
    quote.vega = out.vega[i] as number;
    quote.rho = out.rho[i] as number;
    quote.gex = sign * quote.gamma * quote.openInterest * scale;
  }
  return ivFailures;
}

/** The chain's GEX: per strike, by side, net, and the zero-gamma level, from solved legs. */
function gammaExposure(chain: OptionChainSnapshot, legs: Leg[], timeMs: number, t: number, pricing: Pricing): GammaExposure {
  const spot = chain.underlyingPrice;
  const strikes = new Map<number, GexStrike>();
  let callGex = 0;
  let putGex = 0;
  for (const { quote, sign } of legs) {
    const k = quote.meta.strike;
    const s = strikes.get(k) ?? { strike: k, callGex: 0, putGex: 0 };
    if (sign === 1) {
      s.callGex += quote.gex;
      callGex += quote.gex;
    } else {
      s.putGex += quote.gex;
      putGex += quote.gex;
    }
    strikes.set(k, s);
  }
  const zero = zeroGammaLevel(legs, spot, t, pricing);
  return {
    underlyingId: chain.underlying.id,
    expiry: chain.expiry,
    timeMs,
    spot,
    netGex: callGex + putGex,
    callGex,
    putGex,
    zeroGammaAvailable: zero !== undefined,
    zeroGammaLevel: zero ?? 0,
    strikes: [...strikes.values()].sort((a, b) => a.strike - b.strike),
  };
}

/** Net GEX of the chain if the underlying were at `at`, each contract keeping its implied volatility. */
function netGexAt(legs: readonly Leg[], at: number, t: number, pricing: Pricing): number {
  const g = zeroGreeks();
  const c: Contract = { spot: at, strike: 0, t, rate: pricing.riskFreeRate, dividendYield: pricing.dividendYield, right: 'call' };
  let net = 0;
  for (const { quote, sign } of legs) {
    if (!quote.ivAvailable || quote.openInterest <= 0) continue;
    c.strike = quote.meta.strike;
    c.right = sign === 1 ? 'call' : 'put';
    bsmGreeks(c, quote.iv, g);
    net += sign * g.gamma * quote.openInterest;
  }
  return net * at * at * GEX_SCALE;
}

/**
 * The spot at which net GEX changes sign, nearest to the current spot within ±10%: a grid scan
 * for sign changes, then bisection to 1e-9 of the spot. Undefined when GEX keeps one sign.
 */
function zeroGammaLevel(legs: readonly Leg[], spot: number, t: number, pricing: Pricing): number | undefined {
  if (!(t > 0) || !(spot > 0)) return undefined;
  const lo = spot * (1 - ZERO_GAMMA_RANGE);
  const step = (2 * ZERO_GAMMA_RANGE * spot) / ZERO_GAMMA_GRID;
  let best: [number, number] | undefined;
  let prevX = lo;
  let prevY = netGexAt(legs, lo, t, pricing);
  for (let i = 1; i <= ZERO_GAMMA_GRID; i++) {
    const x = lo + i * step;
    const y = netGexAt(legs, x, t, pricing);
    if ((prevY < 0 && y >= 0) || (prevY > 0 && y <= 0)) {
      const mid = 0.5 * (prevX + x);
      if (!best || Math.abs(mid - spot) < Math.abs(0.5 * (best[0] + best[1]) - spot)) best = [prevX, x];
    }
    prevX = x;
    prevY = y;
  }
  if (!best) return undefined;
  let [a, b] = best;
  let fa = netGexAt(legs, a, t, pricing);
  for (let i = 0; i < 100 && b - a > 1e-9 * spot; i++) {
    const m = 0.5 * (a + b);
    const fm = netGexAt(legs, m, t, pricing);
    if (fm === 0) return m;
    if (fa < 0 === fm < 0) {
      a = m;
      fa = fm;
    } else {
      b = m;
    }
  }
  return 0.5 * (a + b);
}
