// Black–Scholes–Merton with a continuous dividend yield q, priced through the normalised Black
// function so that deep in- and out-of-the-money prices keep their precision and put–call parity
// holds to rounding: C − P = S·e^{−qT} − K·e^{−rT}.
import { ABOVE_MAXIMUM, BELOW_INTRINSIC, impliedBlackVolatility, normalisedBlackCall } from './implied-vol.ts';

export type Right = 'call' | 'put';

/** Market inputs of one contract. Times in years (ACT/365), rates continuous, as fractions. */
export interface Contract {
  spot: number;
  strike: number;
  t: number;
  rate: number;
  dividendYield: number;
  right: Right;
}

/** The forward F = S·e^{(r−q)T}. */
export function forward(spot: number, t: number, rate: number, dividendYield: number): number {
  return spot * Math.exp((rate - dividendYield) * t);
}

/** The option's price at volatility σ; at T ≤ 0 or σ = 0 the discounted intrinsic value. */
export function bsmPrice(c: Contract, volatility: number): number {
  const t = Math.max(c.t, 0);
  const F = forward(c.spot, t, c.rate, c.dividendYield);
  const discount = Math.exp(-c.rate * t);
  const x = Math.log(F / c.strike);
  const s = volatility > 0 ? volatility * Math.sqrt(t) : 0;
  const b = normalisedBlackCall(c.right === 'call' ? x : -x, s);
  return discount * Math.sqrt(F) * Math.sqrt(c.strike) * b;
}

export type ImpliedVolResult =
  | { ok: true; volatility: number }
  | { ok: false; reason: 'below-intrinsic' | 'above-maximum' | 'no-time-value' };

/** The volatility that reproduces `price`, or why none does. */
export function bsmImpliedVolatility(c: Contract, price: number): ImpliedVolResult {
  if (!(c.t > 0)) return { ok: false, reason: 'no-time-value' };
  const F = forward(c.spot, c.t, c.rate, c.dividendYield);
  const sigma = impliedBlackVolatility(price * Math.exp(c.rate * c.t), F, c.strike, c.t, c.right === 'call');
  if (sigma === BELOW_INTRINSIC) return { ok: false, reason: 'below-intrinsic' };
  if (sigma === ABOVE_MAXIMUM) return { ok: false, reason: 'above-maximum' };
  if (!(sigma > 0) || !Number.isFinite(sigma)) return { ok: false, reason: 'no-time-value' };
  return { ok: true, volatility: sigma };
}
