// A minimal Black–Scholes–Merton pricer for the simulator's option prices. The processor has its
// own (with IV and Greeks); this one only has to make chain prices consistent with the underlying.

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; |error| < 1.5e-7). */
export function normCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export interface BsInput {
  spot: number;
  strike: number;
  /** Years to expiry. */
  time: number;
  rate: number;
  dividendYield: number;
  volatility: number;
  call: boolean;
}

export function bsPrice(p: BsInput): number {
  const { spot: s, strike: k, time: t, rate: r, dividendYield: q, volatility: v } = p;
  const dfR = Math.exp(-r * t);
  const dfQ = Math.exp(-q * t);
  if (t <= 0 || v <= 0) {
    return Math.max(0, p.call ? s * dfQ - k * dfR : k * dfR - s * dfQ);
  }
  const sd = v * Math.sqrt(t);
  const d1 = (Math.log(s / k) + (r - q + (v * v) / 2) * t) / sd;
  const d2 = d1 - sd;
  return p.call ? s * dfQ * normCdf(d1) - k * dfR * normCdf(d2) : k * dfR * normCdf(-d2) - s * dfQ * normCdf(-d1);
}
