// The standard normal distribution to full double precision: W. J. Cody's rational Chebyshev
// approximations of erf / erfc / erfcx (Math. Comp. 1969) and Wichura's AS241 (PPND16) inverse.
// Pure and allocation-free: the implied-volatility solver calls these millions of times a second.

export const SQRT_TWO_PI = Math.sqrt(2 * Math.PI);
export const ONE_OVER_SQRT_TWO_PI = 1 / SQRT_TWO_PI;
export const ONE_OVER_SQRT_TWO = Math.SQRT1_2;
const ONE_OVER_SQRT_PI = 0.5641895835477563;

// Cody's coefficients: erf on |x| ≤ 0.46875 (A/B), erfc on (0.46875, 4] (C/D), erfc on (4, ∞) (P/Q).
const A0 = 3.1611237438705655;
const A1 = 113.86415415105016;
const A2 = 377.485237685302;
const A3 = 3209.3775891384694;
const A4 = 0.18577770618460315;
const B0 = 23.601290952344122;
const B1 = 244.02463793444417;
const B2 = 1282.6165260773723;
const B3 = 2844.236833439171;
const C0 = 0.5641884969886701;
const C1 = 8.883149794388377;
const C2 = 66.11919063714163;
const C3 = 298.6351381974001;
const C4 = 881.952221241769;
const C5 = 1712.0476126340707;
const C6 = 2051.0783778260716;
const C7 = 1230.3393547979972;
const C8 = 2.1531153547440383e-8;
const D0 = 15.744926110709835;
const D1 = 117.6939508913125;
const D2 = 537.1811018620099;
const D3 = 1621.3895745666903;
const D4 = 3290.7992357334597;
const D5 = 4362.619090143247;
const D6 = 3439.3676741437216;
const D7 = 1230.3393548037495;
const P0 = 0.30532663496123236;
const P1 = 0.36034489994980445;
const P2 = 0.12578172611122926;
const P3 = 0.016083785148742275;
const P4 = 0.0006587491615298378;
const P5 = 0.016315387137302097;
const Q0 = 2.568520192289822;
const Q1 = 1.8729528499234604;
const Q2 = 0.5279051029514285;
const Q3 = 0.06051834131244132;
const Q4 = 0.0023352049762686918;

const THRESHOLD = 0.46875;
const X_SMALL = 1.11e-16;
const X_BIG = 26.543;
const X_HUGE = 67100000.0;
const X_MAX = 2.53e307;
const X_NEG = -26.628;

/** erf(x) for |x| ≤ 0.46875. */
function erfSmall(x: number): number {
  const y = Math.abs(x);
  const ysq = y > X_SMALL ? y * y : 0;
  const num = (((A4 * ysq + A0) * ysq + A1) * ysq + A2) * ysq + A3;
  const den = (((ysq + B0) * ysq + B1) * ysq + B2) * ysq + B3;
  return (x * num) / den;
}

/** erfcx(y) = exp(y²)·erfc(y) for y > 0.46875. */
function erfcxPositive(y: number): number {
  if (y <= 4) {
    const num = (((((((C8 * y + C0) * y + C1) * y + C2) * y + C3) * y + C4) * y + C5) * y + C6) * y + C7;
    const den = (((((((y + D0) * y + D1) * y + D2) * y + D3) * y + D4) * y + D5) * y + D6) * y + D7;
    return num / den;
  }
  if (y >= X_MAX) return 0;
  if (y >= X_HUGE) return ONE_OVER_SQRT_PI / y;
  const ysq = 1 / (y * y);
  const num = ((((P5 * ysq + P0) * ysq + P1) * ysq + P2) * ysq + P3) * ysq + P4;
  const den = ((((ysq + Q0) * ysq + Q1) * ysq + Q2) * ysq + Q3) * ysq + Q4;
  return (ONE_OVER_SQRT_PI - (ysq * num) / den) / y;
}

/** exp(-y²) computed as Cody does: split y so the square loses no bits. */
function expMinusSquare(y: number): number {
  const ySplit = Math.trunc(y * 16) / 16;
  const rest = (y - ySplit) * (y + ySplit);
  return Math.exp(-ySplit * ySplit) * Math.exp(-rest);
}

/** The complementary error function erfc(x) = 1 − erf(x). */
export function erfc(x: number): number {
  const y = Math.abs(x);
  let result: number;
  if (y <= THRESHOLD) return 1 - erfSmall(x);
  if (y >= X_BIG) result = 0;
  else result = erfcxPositive(y) * expMinusSquare(y);
  return x < 0 ? 2 - result : result;
}

/** The error function. */
export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESHOLD) return erfSmall(x);
  const r = y >= X_BIG ? 0 : erfcxPositive(y) * expMinusSquare(y);
  const value = 0.5 - r + 0.5;
  return x < 0 ? -value : value;
}

/** The scaled complementary error function erfcx(x) = exp(x²)·erfc(x). */
export function erfcx(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESHOLD) {
    return Math.exp(x * x) * (1 - erfSmall(x));
  }
  if (x > 0) return erfcxPositive(y);
  if (x < X_NEG) return Number.MAX_VALUE;
  const r = erfcxPositive(y);
  const ySplit = Math.trunc(x * 16) / 16;
  const rest = (x - ySplit) * (x + ySplit);
  const e = Math.exp(ySplit * ySplit) * Math.exp(rest);
  return e + e - r;
}

/**
 * g·erfcx(a) when G = g·e^{a²} is known too (the normalised Black function knows both: e^{x/2} and
 * e^{−x/2}): erfc(a)·G near zero, so no exponential is taken where Cody's erfcx would take one.
 */
export function erfcxTimes(a: number, g: number, G: number): number {
  const y = Math.abs(a);
  if (y <= THRESHOLD) return G * (1 - erfSmall(a));
  if (a > 0) return g * erfcxPositive(y);
  return 2 * G - g * erfcxPositive(y);
}

/** The standard normal density φ(x). */
export function normPdf(x: number): number {
  return ONE_OVER_SQRT_TWO_PI * Math.exp(-0.5 * x * x);
}

const CDF_ASYMPTOTIC_THRESHOLD = -10;
const CDF_ASYMPTOTIC_LIMIT = -1 / Math.sqrt(Number.EPSILON);

/**
 * The standard normal distribution Φ(z). Below z = −10 the asymptotic series of Abramowitz &
 * Stegun 26.2.12 keeps full relative precision where erfc's exponential would not.
 */
export function normCdf(z: number): number {
  if (z <= CDF_ASYMPTOTIC_THRESHOLD) {
    let sum = 1;
    if (z >= CDF_ASYMPTOTIC_LIMIT) {
      const zz = z * z;
      let g = 1;
      let last = Number.MAX_VALUE;
      for (let i = 1; i < 64; i++) {
        const a = (4 * i - 3) / zz;
        const b = a * ((4 * i - 1) / zz);
        const term = g * (a - b);
        const size = Math.abs(term);
        if (!(size < last) || size < Math.abs(sum * Number.EPSILON)) break;
        sum -= term;
        g *= b;
        last = size;
      }
    }
    return (-normPdf(z) * sum) / z;
  }
  return 0.5 * erfc(-z * ONE_OVER_SQRT_TWO);
}

/**
 * Φ(d) when g = exp(−d²/2) is already known (the density's exponential, shared with the Greeks
 * or the Black function): one rational function and no further exponential. Keeps relative
 * precision in the lower tail, as erfcx·g has no cancellation.
 */
export function normCdfGivenExp(d: number, g: number): number {
  const y = Math.abs(d) * ONE_OVER_SQRT_TWO;
  if (y <= THRESHOLD) return 0.5 + 0.5 * erfSmall(d * ONE_OVER_SQRT_TWO);
  const tail = y >= X_BIG ? 0 : 0.5 * erfcxPositive(y) * g;
  return d < 0 ? tail : 0.5 - tail + 0.5;
}

// AS241 (Wichura 1988), accurate to about 1 part in 10^16.
const SPLIT1 = 0.425;
const SPLIT2 = 5;
const CONST1 = 0.180625;
const CONST2 = 1.6;

/** Φ⁻¹(u): the normal deviate with lower tail probability u. */
export function inverseNormCdf(u: number): number {
  if (u <= 0) return Number.NEGATIVE_INFINITY;
  if (u >= 1) return Number.POSITIVE_INFINITY;
  const q = u - 0.5;
  if (Math.abs(q) <= SPLIT1) {
    const r = CONST1 - q * q;
    return (
      (q *
        (((((((2509.0809287301227 * r + 33430.57558358813) * r + 67265.7709270087) * r + 45921.95393154987) * r +
          13731.69376550946) *
          r +
          1971.5909503065513) *
          r +
          133.14166789178438) *
          r +
          3.3871328727963665)) /
      (((((((5226.495278852854 * r + 28729.085735721943) * r + 39307.89580009271) * r + 21213.794301586597) * r +
        5394.196021424751) *
        r +
        687.1870074920579) *
        r +
        42.31333070160091) *
        r +
        1)
    );
  }
  let r = Math.sqrt(-Math.log(q < 0 ? u : 1 - u));
  let value: number;
  if (r < SPLIT2) {
    r -= CONST2;
    value =
      (((((((0.0007745450142783414 * r + 0.022723844989269184) * r + 0.2417807251774506) * r + 1.2704582524523684) * r +
        3.6478483247632045) *
        r +
        5.769497221460691) *
        r +
        4.630337846156546) *
        r +
        1.4234371107496835) /
      (((((((1.0507500716444169e-9 * r + 0.0005475938084995345) * r + 0.015198666563616457) * r + 0.14810397642748008) * r +
        0.6897673349851) *
        r +
        1.6763848301838038) *
        r +
        2.053191626637759) *
        r +
        1);
  } else {
    r -= SPLIT2;
    value =
      (((((((2.0103343992922881e-7 * r + 0.000027115555687434876) * r + 0.0012426609473880784) * r + 0.026532189526576124) * r +
        0.29656057182850487) *
        r +
        1.7848265399172913) *
        r +
        5.463784911164114) *
        r +
        6.657904643501103) /
      (((((((2.0442631033899397e-15 * r + 1.421511758316446e-7) * r + 0.000018463183175100548) * r + 0.0007868691311456133) * r +
        0.014875361290850615) *
        r +
        0.1369298809227358) *
        r +
        0.599832206555888) *
        r +
        1);
  }
  return q < 0 ? -value : value;
}
