// Greeks of Black–Scholes–Merton with dividend yield q, in the units traders quote: theta per
// calendar day, vega per volatility point (1%), rho per rate point (1%). Where no volatility is
// known (expired, price below intrinsic, …) the Greeks are those of the zero-volatility limit:
// the discounted intrinsic value's sensitivities, so outputs are always finite.
import { bsmImpliedVolatility, bsmPrice, type Contract, forward } from './black-scholes.ts';
import { impliedTotalVolatility } from './implied-vol.ts';
import { normCdf, normCdfGivenExp, normPdf, ONE_OVER_SQRT_TWO_PI } from './normal.ts';

export const DAYS_PER_YEAR = 365;

export interface Greeks {
  price: number;
  delta: number;
  gamma: number;
  /** Per calendar day. */
  theta: number;
  /** Per volatility point. */
  vega: number;
  /** Per rate point. */
  rho: number;
}

export function zeroGreeks(): Greeks {
  return { price: 0, delta: 0, gamma: 0, theta: 0, vega: 0, rho: 0 };
}

/** Greeks at volatility σ (σ ≤ 0 or T ≤ 0: the zero-volatility limit). Writes into `out` when given. */
export function bsmGreeks(c: Contract, volatility: number, out: Greeks = zeroGreeks()): Greeks {
  const t = Math.max(c.t, 0);
  const S = c.spot;
  const K = c.strike;
  const dq = Math.exp(-c.dividendYield * t);
  const dr = Math.exp(-c.rate * t);
  const call = c.right === 'call';
  if (
    !(S > 0 && K > 0 && Number.isFinite(S) && Number.isFinite(K) && Number.isFinite(c.rate) && Number.isFinite(c.dividendYield))
  ) {
    out.price = 0;
    out.delta = 0;
    out.gamma = 0;
    out.theta = 0;
    out.vega = 0;
    out.rho = 0;
    return out;
  }
  if (!(volatility > 0) || !(t > 0)) {
    intrinsicGreeks(S, K, t, c.rate, c.dividendYield, dq, dr, call, out);
    return out;
  }
  const sqrtT = Math.sqrt(t);
  const sd = volatility * sqrtT;
  const d1 = (Math.log(S / K) + (c.rate - c.dividendYield) * t) / sd + 0.5 * sd;
  const d2 = d1 - sd;
  const pdf = normPdf(d1);
  const sPdf = S * dq * pdf;
  out.price = bsmPrice(c, volatility);
  out.gamma = (dq * pdf) / (S * sd);
  out.vega = (sPdf * sqrtT) / 100;
  const decay = -(sPdf * volatility) / (2 * sqrtT);
  if (call) {
    const n1 = normCdf(d1);
    const n2 = normCdf(d2);
    out.delta = dq * n1;
    out.theta = (decay - c.rate * K * dr * n2 + c.dividendYield * S * dq * n1) / DAYS_PER_YEAR;
    out.rho = (K * t * dr * n2) / 100;
  } else {
    const n1 = normCdf(-d1);
    const n2 = normCdf(-d2);
    out.delta = -dq * n1;
    out.theta = (decay + c.rate * K * dr * n2 - c.dividendYield * S * dq * n1) / DAYS_PER_YEAR;
    out.rho = (-K * t * dr * n2) / 100;
  }
  return out;
}

function intrinsicGreeks(
  S: number,
  K: number,
  t: number,
  r: number,
  q: number,
  dq: number,
  dr: number,
  call: boolean,
  out: Greeks,
): void {
  const F = forward(S, t, r, q);
  const sign = call ? 1 : -1;
  out.gamma = 0;
  out.vega = 0;
  if (sign * (F - K) > 0) {
    out.price = sign * (S * dq - K * dr);
    out.delta = sign * dq;
    out.theta = (sign * (q * S * dq - r * K * dr)) / DAYS_PER_YEAR;
    out.rho = (sign * K * t * dr) / 100;
  } else {
    out.price = 0;
    out.delta = F === K ? 0.5 * sign * dq : 0;
    out.theta = 0;
    out.rho = 0;
  }
}

export interface Solved extends Greeks {
  ivAvailable: boolean;
  iv: number;
}

/** IV from a market price, then the Greeks at that IV (or of the zero-volatility limit). */
export function solveContract(c: Contract, price: number): Solved {
  const iv = bsmImpliedVolatility(c, price);
  const g = bsmGreeks(c, iv.ok ? iv.volatility : 0);
  return { ...g, price: iv.ok ? price : g.price, ivAvailable: iv.ok, iv: iv.ok ? iv.volatility : 0 };
}

/** Column-wise inputs of many contracts (one index per contract). */
export interface ContractBatch {
  spot: Float64Array;
  strike: Float64Array;
  t: Float64Array;
  rate: Float64Array;
  dividendYield: Float64Array;
  price: Float64Array;
  /** 1 call, 0 put. */
  isCall: Uint8Array;
}

/** Column-wise outputs; iv is 0 and ivAvailable 0 where no volatility reproduces the price. */
export interface GreeksBatch {
  iv: Float64Array;
  ivAvailable: Uint8Array;
  delta: Float64Array;
  gamma: Float64Array;
  theta: Float64Array;
  vega: Float64Array;
  rho: Float64Array;
}

export function allocateGreeksBatch(n: number): GreeksBatch {
  return {
    iv: new Float64Array(n),
    ivAvailable: new Uint8Array(n),
    delta: new Float64Array(n),
    gamma: new Float64Array(n),
    theta: new Float64Array(n),
    vega: new Float64Array(n),
    rho: new Float64Array(n),
  };
}

/**
 * IV and Greeks for a whole chain in one allocation-free pass over typed arrays. Returns how many
 * contracts had no implied volatility.
 *
 * The Greeks reuse what the solve already has: x = ln(F/K), √T, the discount factors (computed
 * once per run of equal T, r, q, as in a chain), and one exponential for φ(d1), from which the
 * densities of d2 and so Φ(d1), Φ(d2) follow with a rational function each.
 */
export function solveBatch(input: ContractBatch, out: GreeksBatch, n = input.spot.length): number {
  let failures = 0;
  const scratch = zeroGreeks();
  const contract: Contract = { spot: 0, strike: 0, t: 0, rate: 0, dividendYield: 0, right: 'call' };
  const { spot, strike, t: maturity, rate, dividendYield, price, isCall } = input;
  const { iv, ivAvailable, delta, gamma, theta, vega, rho } = out;
  // Per (T, r, q): e^{rT}, e^{−rT}, e^{−qT}, e^{(r−q)T}, √T.
  let lastT = Number.NaN;
  let lastR = Number.NaN;
  let lastQ = Number.NaN;
  let growthR = 1;
  let dr = 1;
  let dq = 1;
  let growth = 1;
  let sqrtT = 0;
  for (let i = 0; i < n; i++) {
    const S = spot[i] as number;
    const K = strike[i] as number;
    const T = maturity[i] as number;
    const r = rate[i] as number;
    const q = dividendYield[i] as number;
    const call = isCall[i] === 1;
    let s = 0;
    let x = 0;
    let F = 0;
    if (T > 0 && S > 0 && K > 0) {
      if (T !== lastT || r !== lastR || q !== lastQ) {
        growthR = Math.exp(r * T);
        dr = 1 / growthR;
        // Its own exponential, not e^{rT}·e^{−qT}: the forward must be bsmPrice's to the last bit, as
        // deep in-the-money IV moves by 1e-11 per ulp of F. The Greeks' e^{−qT} can take the ulp.
        growth = Math.exp((r - q) * T);
        dq = growth * dr;
        sqrtT = Math.sqrt(T);
        lastT = T;
        lastR = r;
        lastQ = q;
      }
      F = S * growth;
      x = Math.log(F / K);
      const v = impliedTotalVolatility((price[i] as number) * growthR, F, K, x, call);
      if (v > 0 && v < Number.POSITIVE_INFINITY) s = v;
    }
    if (s === 0) {
      failures++;
      writeWithoutIv(input, out, i, contract, scratch);
      continue;
    }
    const sigma = s / sqrtT;
    const d1 = x / s + 0.5 * s;
    const d2 = d1 - s;
    const g1 = Math.exp(-0.5 * d1 * d1);
    // exp(−d2²/2) = exp(−d1²/2)·F/K, as d1² − d2² = 2x.
    const g2 = (g1 * F) / K;
    const sPdf = S * dq * ONE_OVER_SQRT_TWO_PI * g1;
    const decay = -(sPdf * sigma) / (2 * sqrtT);
    iv[i] = sigma;
    ivAvailable[i] = 1;
    gamma[i] = sPdf / (S * S * s);
    vega[i] = (sPdf * sqrtT) / 100;
    if (call) {
      const n1 = normCdfGivenExp(d1, g1);
      const n2 = normCdfGivenExp(d2, g2);
      delta[i] = dq * n1;
      theta[i] = (decay - r * K * dr * n2 + q * S * dq * n1) / DAYS_PER_YEAR;
      rho[i] = (K * T * dr * n2) / 100;
    } else {
      const n1 = normCdfGivenExp(-d1, g1);
      const n2 = normCdfGivenExp(-d2, g2);
      delta[i] = -dq * n1;
      theta[i] = (decay + r * K * dr * n2 - q * S * dq * n1) / DAYS_PER_YEAR;
      rho[i] = (-K * T * dr * n2) / 100;
    }
  }
  return failures;
}

/** Row `i` of a contract without implied volatility: no IV, the Greeks at zero volatility. */
function writeWithoutIv(input: ContractBatch, out: GreeksBatch, i: number, contract: Contract, scratch: Greeks): void {
  contract.spot = input.spot[i] as number;
  contract.strike = input.strike[i] as number;
  contract.t = input.t[i] as number;
  contract.rate = input.rate[i] as number;
  contract.dividendYield = input.dividendYield[i] as number;
  contract.right = input.isCall[i] === 1 ? 'call' : 'put';
  bsmGreeks(contract, 0, scratch);
  out.iv[i] = 0;
  out.ivAvailable[i] = 0;
  out.delta[i] = scratch.delta;
  out.gamma[i] = scratch.gamma;
  out.theta[i] = scratch.theta;
  out.vega[i] = scratch.vega;
  out.rho[i] = scratch.rho;
}
