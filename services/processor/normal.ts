// The standard normal distribution to full double precision: W. J. Cody's rational Chebyshev
// approximations of erf / erfc / erfcx (Math. Comp. 1969) and Wichura's AS241 (PPND16) inverse.
// Pure and allocation-free: the implied-volatility solver calls these millions of times a second.

export const SQRT_TWO_PI = Math.sqrt(2 * Math.PI);
export const ONE_OVER_SQRT_TWO_PI = 1 / SQRT_TWO_PI;
export const ONE_OVER_SQRT_TWO = Math.SQRT1_2;
const ONE_OVER_SQRT_PI = 0.5641895835477563;

// Cody's coefficients: erf on |x| ≤ 0.46875 (A/B), erfc on (0.46875, 4] (C/D), erfc on (4, ∞) (P/Q).
const A0 = 3.1611237438705656;
const A1 = 113.864154151050156;
const A2 = 377.485237685302021;
const A3 = 3209.37758913846947;
const A4 = 0.185777706184603153;
const B0 = 23.6012909523441209;
const B1 = 244.024637934444173;
const B2 = 1282.61652607737228;
const B3 = 2844.23683343917062;
const C0 = 0.564188496988670089;
const C1 = 8.88314979438837594;
const C2 = 66.1191906371416295;
const C3 = 298.635138197400131;
const C4 = 881.95222124176909;
const C5 = 1712.04761263407058;
const C6 = 2051.07837782607147;
const C7 = 1230.33935479799725;
const C8 = 2.15311535474403846e-8;
const D0 = 15.7449261107098347;
const D1 = 117.693950891312499;
const D2 = 537.181101862009858;
const D3 = 1621.38957456669019;
const D4 = 3290.79923573345963;
const D5 = 4362.61909014324716;
const D6 = 3439.36767414372164;
const D7 = 1230.33935480374942;
const P0 = 0.305326634961232344;
const P1 = 0.360344899949804439;
const P2 = 0.125781726111229246;
const P3 = 0.0160837851487422766;
const P4 = 6.58749161529837803e-4;
const P5 = 0.0163153871373020978;
const Q0 = 2.56852019228982242;
const Q1 = 1.87295284992346047;
const Q2 = 0.527905102951428412;
const Q3 = 0.0605183413124413191;
const Q4 = 0.00233520497626869185;

const THRESHOLD = 0.46875;
const X_SMALL = 1.11e-16;
const X_BIG = 26.543;
const X_HUGE = 6.71e7;
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
        (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r +
          13731.693765509461125) *
          r +
          1971.5909503065514427) *
          r +
          133.14166789178437745) *
          r +
          3.387132872796366608)) /
      (((((((5226.495278852854561 * r + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r +
        5394.1960214247511077) *
        r +
        687.1870074920579083) *
        r +
        42.313330701600911252) *
        r +
        1)
    );
  }
  let r = Math.sqrt(-Math.log(q < 0 ? u : 1 - u));
  let value: number;
  if (r < SPLIT2) {
    r -= CONST2;
    value =
      (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
        1.27045825245236838258) *
        r +
        3.64784832476320460504) *
        r +
        5.7694972214606914055) *
        r +
        4.6303378461565452959) *
        r +
        1.42343711074968357734) /
      (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
        0.14810397642748007459) *
        r +
        0.68976733498510000455) *
        r +
        1.6763848301838038494) *
        r +
        2.05319162663775882187) *
        r +
        1);
  } else {
    r -= SPLIT2;
    value =
      (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
        0.026532189526576123093) *
        r +
        0.29656057182850489123) *
        r +
        1.7848265399172913358) *
        r +
        5.4637849111641143699) *
        r +
        6.6579046435011037772) /
      (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
        7.868691311456132591e-4) *
        r +
        0.0148753612908506148525) *
        r +
        0.13692988092273580531) *
        r +
        0.59983220655588793769) *
        r +
        1);
  }
  return q < 0 ? -value : value;
}
