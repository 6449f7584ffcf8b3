// Black implied volatility by Peter Jäckel's "Let's Be Rational" (Wilmott, January 2015): the
// normalised Black function evaluated without cancellation, a four-branch rational initial guess
// and at most two Householder(3) steps, which reach machine precision for every input.
//
// Notation, as in the paper: x = ln(F/K), s = σ√T, θ = +1 call / −1 put, and the normalised
// price β = undiscounted price / √(F·K). Everything is first mapped to an out-of-the-money call
// (x ≤ 0) by subtracting the intrinsic value and using the put/call symmetry b(x) = b(−x).
import {
  erfcx,
  erfcxTimes,
  inverseNormCdf,
  normCdf,
  normCdfGivenExp,
  ONE_OVER_SQRT_TWO,
  ONE_OVER_SQRT_TWO_PI,
} from './normal.ts';

/** No volatility reproduces the price: it is below the option's intrinsic value. */
export const BELOW_INTRINSIC = -1;
/** No volatility reproduces the price: it is at or above the option's upper bound. */
export const ABOVE_MAXIMUM = -2;

const EPS = Number.EPSILON;
const DBL_MIN = 2.2250738585072014e-308;
const SQRT_DBL_MAX = Math.sqrt(Number.MAX_VALUE);
const SQRT_THREE = Math.sqrt(3);
const SQRT_PI_OVER_TWO = Math.sqrt(Math.PI / 2);
const TWO_PI_OVER_SQRT_27 = (2 * Math.PI) / Math.sqrt(27);
const MAX_ITERATIONS = 2;
/** A first Householder step below this fraction of s leaves next to nothing for a second to correct. */
const ONE_STEP_ENOUGH = 1e-3;
/** Below t = s/2 = 2·ε^(1/16) ≈ 0.21 the Taylor series in t is exact to double precision. */
const SMALL_T = 2 * EPS ** (1 / 16);

/** Normalised intrinsic value of a call with x > 0: e^{x/2} − e^{−x/2}. */
function normalisedIntrinsic(x: number): number {
  return 2 * Math.sinh(0.5 * x);
}

/**
 * b(x,s) = e^{x/2}Φ(h+t) − e^{−x/2}Φ(h−t) for x ≤ 0 with h = x/s, t = s/2, written as
 * exp(−(h²+t²)/2)/√(2π)·[Y(h+t) − Y(h−t)] with Y = Φ/φ and expanded in t: the odd derivatives of Y
 * follow from Y' = 1 + hY by the recurrence Y⁽ⁿ⁺¹⁾ = hY⁽ⁿ⁾ + nY⁽ⁿ⁻¹⁾.
 */
function smallTBlackCall(h: number, t: number): number {
  return smallTSeries(h, t, Math.exp(-0.5 * (h * h + t * t)));
}

/** 1/n! for the odd n of the series. */
const F3 = 1 / 6;
const F5 = 1 / 120;
const F7 = 1 / 5040;
const F9 = 1 / 362880;
const F11 = 1 / 39916800;
const F13 = 1 / 6227020800;

/** The series above with its exponential e = exp(−(h²+t²)/2) given (it is the vega's too). */
function smallTSeries(h: number, t: number, e: number): number {
  const tt = t * t;
  // Everything scaled by e: e·Y(h) = √(π/2)·e·erfcx(−h/√2), where e·e^{h²/2} = e^{−t²/2}, which
  // for t < 0.21 a short Taylor series gives to double precision: no exponential near h = 0.
  const u = 0.5 * tt;
  const expHalfTt =
    1 - u * (1 - (u / 2) * (1 - (u / 3) * (1 - (u / 4) * (1 - (u / 5) * (1 - (u / 6) * (1 - (u / 7) * (1 - u / 8)))))));
  const y0 = SQRT_PI_OVER_TWO * erfcxTimes(-ONE_OVER_SQRT_TWO * h, e, expHalfTt);
  // Unrolled: Y⁽ⁿ⁺¹⁾ = hY⁽ⁿ⁾ + nY⁽ⁿ⁻¹⁾, and the t^(n+2)/(n+2)! weights by fixed reciprocals.
  const y1 = e + h * y0;
  const y2 = h * y1 + y0;
  const y3 = h * y2 + 2 * y1;
  const y4 = h * y3 + 3 * y2;
  const y5 = h * y4 + 4 * y3;
  const y6 = h * y5 + 5 * y4;
  const y7 = h * y6 + 6 * y5;
  const y8 = h * y7 + 7 * y6;
  const y9 = h * y8 + 8 * y7;
  const y10 = h * y9 + 9 * y8;
  const y11 = h * y10 + 10 * y9;
  const y12 = h * y11 + 11 * y10;
  const y13 = h * y12 + 12 * y11;
  const sum = t * (y1 + tt * (y3 * F3 + tt * (y5 * F5 + tt * (y7 * F7 + tt * (y9 * F9 + tt * (y11 * F11 + tt * (y13 * F13)))))));
  const b = 2 * ONE_OVER_SQRT_TWO_PI * sum;
  return Math.max(b, 0);
}

/** The normalised Black call price b(x, s) for any x; never negative, never NaN for s ≥ 0. */
export function normalisedBlackCall(x: number, s: number): number {
  if (x > 0) return normalisedIntrinsic(x) + normalisedBlackCall(-x, s);
  if (!(s > 0)) return 0;
  const h = x / s;
  const t = 0.5 * s;
  let b: number;
  if (t < SMALL_T) return smallTBlackCall(h, t);
  if (h + t > 0.85) {
    // The first term dominates: keep the terms apart rather than combine them.
    const bMax = Math.exp(0.5 * x);
    b = normCdf(h + t) * bMax - normCdf(h - t) / bMax;
  } else {
    // One exponential and a difference of two rational functions (Cody's erfcx).
    b = 0.5 * Math.exp(-0.5 * (h * h + t * t)) * (erfcx(-ONE_OVER_SQRT_TWO * (h + t)) - erfcx(-ONE_OVER_SQRT_TWO * (h - t)));
  }
  return Math.max(b, 0);
}

/** ∂b/∂s, the normalised vega. */
export function normalisedVega(x: number, s: number): number {
  if (x === 0) return ONE_OVER_SQRT_TWO_PI * Math.exp(-0.125 * s * s);
  if (!(s > 0)) return 0;
  const h = x / s;
  return ONE_OVER_SQRT_TWO_PI * Math.exp(-0.5 * (h * h + 0.25 * s * s));
}

/**
 * Receives b and b′ from blackAndVega: a typed array, so neither is boxed into a heap number on
 * return (a double returned from a call V8 does not inline is allocated; 6% of the time was GC).
 */
const bv = new Float64Array(2);
/** Below this the shared exponential may have lost its precision to underflow: take the plain route. */
const SHARED_EXP_MIN = 1e-280;

/**
 * b(x, s) into bv[0] and b′(x, s) into bv[1] for x ≤ 0 with bMax = e^{x/2}, for the price of one
 * exponential: e = exp(−(h²+t²)/2) is √(2π)·b′, and the densities of h ± t are e·e^{∓x/2}, so
 * Φ(h ± t) need only a rational function each.
 */
function blackAndVega(x: number, s: number, bMax: number): void {
  if (!(s > 0)) {
    bv[1] = normalisedVega(x, s);
    bv[0] = normalisedBlackCall(x, s);
    return;
  }
  const h = x / s;
  const t = 0.5 * s;
  const e = Math.exp(-0.5 * (h * h + t * t));
  bv[1] = ONE_OVER_SQRT_TWO_PI * e;
  let b: number;
  if (t < SMALL_T) b = smallTSeries(h, t, e);
  else if (h + t > 0.85) {
    if (!(e > SHARED_EXP_MIN && bMax > SHARED_EXP_MIN)) b = normalisedBlackCall(x, s);
    else b = normCdfGivenExp(h + t, e / bMax) * bMax - normCdfGivenExp(h - t, e * bMax) / bMax;
  } else {
    // e·e^{(h±t)²/2} = e^{±ht} = e^{±x/2} = bMax^{±1}: erfcx near zero needs no exponential.
    b = 0.5 * (erfcxTimes(-ONE_OVER_SQRT_TWO * (h + t), e, bMax) - erfcxTimes(-ONE_OVER_SQRT_TWO * (h - t), e, 1 / bMax));
  }
  bv[0] = Math.max(b, 0);
}

// Rational cubic interpolation (Delbourgo & Gregory 1985) with a control parameter r; r → ∞ is linear.
const R_MIN = -(1 - Math.sqrt(EPS));
const R_MAX = 2 / (EPS * EPS);
const tiny = (v: number): boolean => Math.abs(v) < DBL_MIN;

function rationalCubic(x: number, xl: number, xr: number, yl: number, yr: number, dl: number, dr: number, r: number): number {
  const h = xr - xl;
  if (Math.abs(h) <= 0) return 0.5 * (yl + yr);
  const t = (x - xl) / h;
  if (r >= R_MAX) return yr * t + yl * (1 - t);
  const u = 1 - t;
  return (
    (yr * t * t * t + (r * yr - h * dr) * t * t * u + (r * yl + h * dl) * t * u * u + yl * u * u * u) / (1 + (r - 3) * t * u)
  );
}

/** The smallest r that keeps the interpolant monotone / convex where the data are. */
function minimumControl(dl: number, dr: number, slope: number, preferShape: boolean): number {
  const monotonic = dl * slope >= 0 && dr * slope >= 0;
  const convex = dl <= slope && slope <= dr;
  const concave = dl >= slope && slope >= dr;
  if (!monotonic && !convex && !concave) return R_MIN;
  let r1 = -Number.MAX_VALUE;
  let r2 = -Number.MAX_VALUE;
  if (monotonic) {
    if (!tiny(slope)) r1 = (dr + dl) / slope;
    else if (preferShape) r1 = R_MAX;
  }
  if (convex || concave) {
    const a = slope - dl;
    const b = dr - slope;
    if (!(tiny(a) || tiny(b))) r2 = Math.max(Math.abs((dr - dl) / b), Math.abs((dr - dl) / a));
    else if (preferShape) r2 = R_MAX;
  } else if (monotonic && preferShape) {
    r2 = R_MAX;
  }
  return Math.max(R_MIN, r1, r2);
}

/** r such that the interpolant's second derivative at the left (side 0) or right (side 1) end is d2. */
function convexControl(
  side: 0 | 1,
  xl: number,
  xr: number,
  yl: number,
  yr: number,
  dl: number,
  dr: number,
  d2: number,
  preferShape: boolean,
): number {
  const h = xr - xl;
  const slope = (yr - yl) / h;
  const numerator = 0.5 * h * d2 + (dr - dl);
  let r: number;
  if (tiny(numerator)) r = 0;
  else {
    const denominator = side === 0 ? slope - dl : dr - slope;
    r = tiny(denominator) ? (numerator > 0 ? R_MAX : R_MIN) : numerator / denominator;
  }
  return Math.max(r, minimumControl(dl, dr, slope, preferShape));
}

function householderStep(newton: number, halley: number, hh3: number): number {
  return (newton * (1 + 0.5 * halley * newton)) / (1 + newton * (halley + (hh3 * newton) / 6));
}

/**
 * Implied normalised volatility s = σ√T from a normalised price β (undiscounted price / √(FK)),
 * x = ln(F/K) and θ = +1 for a call, −1 for a put. Returns 0 when the price equals the intrinsic
 * value, BELOW_INTRINSIC or ABOVE_MAXIMUM when no volatility reproduces it.
 */
export function normalisedImpliedVolatility(beta: number, x: number, isCall: boolean): number {
  if (!(beta >= 0) || Number.isNaN(x)) return BELOW_INTRINSIC;
  let theta = isCall ? 1 : -1;
  if (theta * x > 0) {
    beta -= normalisedIntrinsic(Math.abs(x));
    theta = -theta;
    if (beta < 0) return BELOW_INTRINSIC;
  }
  if (theta < 0) x = -x;
  // Now an out-of-the-money call: x ≤ 0.
  return solveOtmCallPrice(beta, x, Math.exp(0.5 * x));
}

/** β of an out-of-the-money call (x ≤ 0) whose maximum normalised price bMax = e^{x/2} is known. */
function solveOtmCallPrice(beta: number, x: number, bMax: number): number {
  if (beta <= 0) return 0;
  if (beta >= bMax) return ABOVE_MAXIMUM;
  return solveOtmCall(beta, x, bMax);
}

function solveOtmCall(beta: number, x: number, bMax: number): number {
  let sLeft = DBL_MIN;
  let sRight = Number.MAX_VALUE;
  let s: number;
  const sC = Math.sqrt(Math.abs(2 * x));
  let bC: number;
  let vC: number;
  if (0.5 * sC >= SMALL_T) {
    // At the central point h = −t, so exp(−(h²+t²)/2) = e^{x/2} = bMax and Φ(h+t) = ½: b and b′
    // without an exponential.
    bC = Math.max(0.5 * (bMax - erfcxTimes(Math.sqrt(-x), bMax, 1 / bMax)), 0);
    vC = ONE_OVER_SQRT_TWO_PI * bMax;
  } else {
    blackAndVega(x, sC, bMax);
    bC = bv[0] as number;
    vC = bv[1] as number;
  }
  if (beta < bC) {
    const sL = sC - bC / vC;
    blackAndVega(x, sL, bMax);
    const bL = bv[0] as number;
    const vL = bv[1] as number;
    if (beta < bL) {
      // Lowest segment: interpolate f(β) = 2π|x|/√27·Φ(−|x|/(√3 s))³, iterate on 1/ln b.
      const ax = Math.abs(x);
      const z = ax / (SQRT_THREE * sL);
      const y = z * z;
      const s2 = sL * sL;
      const g = Math.exp(-0.5 * y);
      const Phi = normCdfGivenExp(-z, g);
      const phi = ONE_OVER_SQRT_TWO_PI * g;
      const ey = Math.exp(y + 0.125 * s2); // and its square for exp(2y + s²/4)
      const fpp =
        (((Math.PI / 6) * y) / (s2 * sL)) *
        Phi *
        (8 * SQRT_THREE * sL * ax + ((3 * s2 * (s2 - 8) - 8 * x * x) * Phi) / phi) *
        (ey * ey);
      const fp = 2 * Math.PI * y * Phi * Phi * ey;
      const fL = TWO_PI_OVER_SQRT_27 * ax * Phi * Phi * Phi;
      const r = convexControl(1, 0, bL, 0, fL, 1, fp, fpp, true);
      let f = rationalCubic(beta, 0, bL, 0, fL, 1, fp, r);
      if (!(f > 0)) {
        const u = beta / bL;
        f = (fL * u + bL * (1 - u)) * u;
      }
      s = Math.abs(x / (SQRT_THREE * inverseNormCdf(Math.cbrt(f / (TWO_PI_OVER_SQRT_27 * ax)))));
      sRight = sL;
      return iterate(beta, x, bMax, s, sLeft, sRight, 1);
    }
    const r = convexControl(1, bL, bC, sL, sC, 1 / vL, 1 / vC, 0, false);
    s = rationalCubic(beta, bL, bC, sL, sC, 1 / vL, 1 / vC, r);
    sLeft = sL;
    sRight = sC;
    return iterate(beta, x, bMax, s, sLeft, sRight, 0);
  }
  const sH = vC > DBL_MIN ? sC + (bMax - bC) / vC : sC;
  blackAndVega(x, sH, bMax);
  const bH = bv[0] as number;
  if (beta <= bH) {
    const vH = bv[1] as number;
    const r = convexControl(0, bC, bH, sC, sH, 1 / vC, 1 / vH, 0, false);
    s = rationalCubic(beta, bC, bH, sC, sH, 1 / vC, 1 / vH, r);
    return iterate(beta, x, bMax, s, sC, sH, 0);
  }
  // Highest segment: interpolate f(β) = Φ(−s/2), iterate on ln(bMax − b).
  const fH = normCdf(-0.5 * sH);
  const w = (x / sH) * (x / sH);
  const fpH = x === 0 ? -0.5 : -0.5 * Math.exp(0.5 * w);
  const fppH = x === 0 ? 0 : SQRT_PI_OVER_TWO * Math.exp(w + 0.125 * sH * sH) * (w / sH);
  let f = Number.NaN;
  if (fppH > -SQRT_DBL_MAX && fppH < SQRT_DBL_MAX) {
    const r = convexControl(0, bH, bMax, fH, 0, fpH, -0.5, fppH, true);
    f = rationalCubic(beta, bH, bMax, fH, 0, fpH, -0.5, r);
  }
  if (!(f > 0)) {
    const h = bMax - bH;
    const u = (beta - bH) / h;
    f = (fH * (1 - u) + 0.5 * h * u) * (1 - u);
  }
  s = -2 * inverseNormCdf(f);
  return iterate(beta, x, bMax, s, sH, Number.MAX_VALUE, beta > 0.5 * bMax ? 2 : 0);
}

/**
 * Householder(3) on the objective of the segment: 0 = b − β (middle), 1 = 1/ln b − 1/ln β
 * (lowest), 2 = ln(bMax − β) − ln(bMax − b) (highest). Falls back to bisection of the bracket
 * when a step leaves it (only for extreme |x|).
 */
function iterate(beta: number, x: number, bMax: number, s0: number, left: number, right: number, objective: 0 | 1 | 2): number {
  let s = s0;
  let sLeft = left;
  let sRight = right;
  let ds = Number.MAX_VALUE;
  let dsPrevious = 0;
  let reversals = 0;
  const lnBeta = objective === 1 ? Math.log(beta) : 0;
  for (let i = 0; i < MAX_ITERATIONS && Math.abs(ds) > EPS * s; i++) {
    if (ds * dsPrevious < 0) reversals++;
    if (i > 0 && (reversals === 3 || !(s > sLeft && s < sRight))) {
      s = 0.5 * (sLeft + sRight);
      if (sRight - sLeft <= EPS * s) break;
      reversals = 0;
      ds = 0;
    }
    dsPrevious = ds;
    blackAndVega(x, s, bMax);
    const b = bv[0] as number;
    const bp = bv[1] as number;
    if (b > beta && s < sRight) sRight = s;
    else if (b < beta && s > sLeft) sLeft = s;
    const h = x / s;
    const bHalley = (h * h) / s - s / 4; // b''/b'
    const bHh3 = bHalley * bHalley - 3 * (h / s) * (h / s) - 0.25; // b'''/b'
    if (objective === 1) {
      if (b <= 0 || bp <= 0) {
        ds = 0.5 * (sLeft + sRight) - s;
      } else {
        const lnB = Math.log(b);
        const bpob = bp / b;
        const newton = ((lnBeta - lnB) * lnB) / lnBeta / bpob;
        const halley = bHalley - bpob * (1 + 2 / lnB);
        const hh3 = bHh3 + 2 * bpob * bpob * (1 + (3 / lnB) * (1 + 1 / lnB)) - 3 * bHalley * bpob * (1 + 2 / lnB);
        ds = householderStep(newton, halley, hh3);
      }
    } else if (objective === 2) {
      if (b >= bMax || bp <= DBL_MIN) {
        ds = 0.5 * (sLeft + sRight) - s;
      } else {
        const rest = bMax - b;
        const g = Math.log((bMax - beta) / rest);
        const gp = bp / rest;
        ds = householderStep(-g / gp, bHalley + gp, bHh3 + gp * (2 * gp + 3 * bHalley));
      }
    } else {
      ds = householderStep((beta - b) / bp, bHalley, bHh3);
    }
    if (ds < -0.5 * s) ds = -0.5 * s;
    s += ds;
    // Householder(3) converges quartically: after a first step this small the error left is of
    // order (ds/s)⁴ ≈ 1e-12 of s at most, so the second step is skipped (over the bench's spread of
    // contracts σ moves by 4e-13 relative at most, below what the prices' rounding allows).
    if (Math.abs(ds) <= ONE_STEP_ENOUGH * s) break;
  }
  return s;
}

/**
 * Black implied volatility from an undiscounted price on a forward F, strike K and time T in years.
 * Returns σ ≥ 0, or BELOW_INTRINSIC / ABOVE_MAXIMUM.
 */
export function impliedBlackVolatility(undiscountedPrice: number, F: number, K: number, T: number, isCall: boolean): number {
  if (!(T > 0)) return BELOW_INTRINSIC;
  const s = impliedTotalVolatility(undiscountedPrice, F, K, Math.log(F / K), isCall);
  return s < 0 ? s : s / Math.sqrt(T);
}

/**
 * The implied total volatility s = σ√T from an undiscounted price on a forward F and strike K with
 * x = ln(F/K) (passed in so that a caller who needs it for the Greeks computes it once). Returns
 * s ≥ 0, or BELOW_INTRINSIC / ABOVE_MAXIMUM.
 */
export function impliedTotalVolatility(undiscountedPrice: number, F: number, K: number, x: number, isCall: boolean): number {
  if (!(F > 0 && K > 0) || !Number.isFinite(undiscountedPrice)) return BELOW_INTRINSIC;
  const intrinsic = isCall ? F - K : K - F;
  if (undiscountedPrice < intrinsic) return BELOW_INTRINSIC;
  if (undiscountedPrice >= (isCall ? F : K)) return ABOVE_MAXIMUM;
  // In the money: work with the out-of-the-money counterpart's time value. Either way the
  // normalised problem is an out-of-the-money call on −|x|, whose maximum e^{−|x|/2} is
  // √(min(F,K)/max(F,K)): a square root where an exponential would do the same.
  const price = (isCall ? 1 : -1) * x > 0 ? Math.max(undiscountedPrice - intrinsic, 0) : undiscountedPrice;
  const beta = price / (Math.sqrt(F) * Math.sqrt(K));
  if (Number.isNaN(x)) return BELOW_INTRINSIC;
  const bMax = F < K ? Math.sqrt(F / K) : Math.sqrt(K / F);
  return solveOtmCallPrice(beta, -Math.abs(x), bMax);
}
