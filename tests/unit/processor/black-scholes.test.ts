import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bsmImpliedVolatility, bsmPrice, type Contract } from '../../../services/processor/black-scholes.ts';
import { bsmGreeks, solveContract } from '../../../services/processor/greeks.ts';
import { erf, erfc, inverseNormCdf, normCdf } from '../../../services/processor/normal.ts';

const near = (actual: number, expected: number, tolerance: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
};

describe('normal distribution', () => {
  test('Φ matches published values to 15 digits', () => {
    // Values of Φ from the NIST handbook / high-precision tables.
    near(normCdf(0), 0.5, 0, 'Φ(0)');
    near(normCdf(1), 0.8413447460685429, 2e-16, 'Φ(1)');
    near(normCdf(-1.96), 0.024997895148220435, 1e-17, 'Φ(-1.96)');
    near(normCdf(-5) / 2.866515718791939e-7, 1, 1e-14, 'Φ(-5) relative');
    near(normCdf(-12) / 1.776482112077679e-33, 1, 1e-13, 'Φ(-12) relative');
  });
  test('erf and erfc are complementary and odd', () => {
    for (const x of [-3, -0.7, -0.2, 0.1, 0.46875, 0.5, 2, 4.5]) {
      near(erf(x) + erfc(x), 1, 2e-16, `erf+erfc at ${x}`);
      near(erf(-x), -erf(x), 0, `erf odd at ${x}`);
    }
  });
  test('Φ⁻¹ inverts Φ to 1e-14 over the range the solver uses', () => {
    for (let z = -8; z <= 3; z += 0.25) near(inverseNormCdf(normCdf(z)), z, 1e-13 * Math.max(1, Math.abs(z)) + 3e-15, `z=${z}`);
  });
});

describe('Black–Scholes–Merton price', () => {
  test("Hull's example: S=42 K=40 r=10% σ=20% T=0.5 gives call 4.7594 and put 0.8086", () => {
    const c: Contract = { spot: 42, strike: 40, t: 0.5, rate: 0.1, dividendYield: 0, right: 'call' };
    near(bsmPrice(c, 0.2), 4.7594, 5e-5, 'call');
    near(bsmPrice({ ...c, right: 'put' }, 0.2), 0.8086, 5e-5, 'put');
  });
  test("Hull's Merton example: S=930 K=900 r=8% q=3% σ=20% T=2/12 call 51.83", () => {
    // Hull, Options, Futures and Other Derivatives, example 17.1 (index option with dividend yield).
    const c: Contract = { spot: 930, strike: 900, t: 2 / 12, rate: 0.08, dividendYield: 0.03, right: 'call' };
    near(bsmPrice(c, 0.2), 51.83, 5e-3, 'call');
  });
  test('put–call parity holds to 1e-10 across strikes, maturities and yields', () => {
    for (const t of [1 / 8760, 0.01, 0.25, 1, 2])
      for (const k of [50, 80, 100, 120, 200])
        for (const q of [0, 0.02]) {
          const c: Contract = { spot: 100, strike: k, t, rate: 0.065, dividendYield: q, right: 'call' };
          const call = bsmPrice(c, 0.3);
          const put = bsmPrice({ ...c, right: 'put' }, 0.3);
          near(call - put, 100 * Math.exp(-q * t) - k * Math.exp(-0.065 * t), 1e-10, `K=${k} T=${t} q=${q}`);
        }
  });
});

describe('Greeks', () => {
  // Hull, example 19.x: S=49 K=50 r=5% σ=20% T=20 weeks (0.3846 years), a call.
  const hull: Contract = { spot: 49, strike: 50, t: 0.3846, rate: 0.05, dividendYield: 0, right: 'call' };
  const g = bsmGreeks(hull, 0.2);
  test('delta of the Hull call is 0.522', () => near(g.delta, 0.522, 5e-4, 'delta'));
  test('gamma of the Hull call is 0.066', () => near(g.gamma, 0.066, 5e-4, 'gamma'));
  test('theta of the Hull call is −4.31 per year, −0.0118 per calendar day', () => {
    near(g.theta * 365, -4.31, 5e-3, 'theta per year');
    near(g.theta, -4.31 / 365, 2e-5, 'theta per day');
  });
  test('vega of the Hull call is 12.1 per unit, 0.121 per vol point', () => near(g.vega * 100, 12.1, 5e-2, 'vega'));
  test('rho of the Hull call is 8.91 per unit, 0.0891 per rate point', () => near(g.rho * 100, 8.91, 5e-3, 'rho'));
  test('Greeks agree with central finite differences of the price', () => {
    for (const right of ['call', 'put'] as const) {
      const c: Contract = { spot: 100, strike: 105, t: 0.3, rate: 0.065, dividendYield: 0.015, right };
      const s = 0.25;
      const x = bsmGreeks(c, s);
      const h = 1e-3;
      const p = (d: Partial<Contract>, vol = s) => bsmPrice({ ...c, ...d }, vol);
      near(x.delta, (p({ spot: 100 + h }) - p({ spot: 100 - h })) / (2 * h), 1e-7, `${right} delta`);
      near(x.gamma, (p({ spot: 100 + h }) - 2 * p({}) + p({ spot: 100 - h })) / (h * h), 1e-5, `${right} gamma`);
      near(x.vega, (p({}, s + 1e-5) - p({}, s - 1e-5)) / 2e-5 / 100, 1e-8, `${right} vega`);
      near(x.rho, (p({ rate: 0.065 + h }) - p({ rate: 0.065 - h })) / (2 * h) / 100, 1e-8, `${right} rho`);
      near(x.theta, -(p({ t: 0.3 + 1e-5 }) - p({ t: 0.3 - 1e-5 })) / 2e-5 / 365, 1e-8, `${right} theta`);
    }
  });
});

describe('implied volatility (Let’s Be Rational)', () => {
  test('recovers σ to 1e-10 over ±3 standard deviations of moneyness and T from one hour to two years', () => {
    let worst = 0;
    let count = 0;
    for (const t of [1 / (365 * 24), 1 / 365, 7 / 365, 30 / 365, 0.25, 0.5, 1, 2])
      for (const sigma of [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2])
        for (let k = -3; k <= 3; k += 0.25)
          for (const right of ['call', 'put'] as const) {
            const strike = 100 * Math.exp(k * sigma * Math.sqrt(t));
            const c: Contract = { spot: 100, strike, t, rate: 0.065, dividendYield: 0.01, right };
            const solved = bsmImpliedVolatility(c, bsmPrice(c, sigma));
            assert.ok(solved.ok, `no IV for T=${t} σ=${sigma} k=${k} ${right}`);
            worst = Math.max(worst, Math.abs(solved.volatility - sigma));
            count++;
          }
    assert.ok(worst <= 1e-10, `worst |Δσ| ${worst} over ${count} contracts`);
  });
  test('a price below intrinsic has no IV, and finite zero-volatility Greeks', () => {
    const c: Contract = { spot: 120, strike: 100, t: 0.1, rate: 0.065, dividendYield: 0, right: 'call' };
    const s = solveContract(c, 15);
    assert.equal(s.ivAvailable, false);
    assert.equal(s.iv, 0);
    near(s.delta, 1, 0, 'delta of a certain exercise');
    assert.equal(s.gamma, 0);
    assert.equal(s.vega, 0);
    assert.ok(Number.isFinite(s.theta) && Number.isFinite(s.rho));
  });
  test('a price at or above the upper bound has no IV', () => {
    const c: Contract = { spot: 100, strike: 100, t: 0.1, rate: 0.065, dividendYield: 0, right: 'call' };
    assert.deepEqual(bsmImpliedVolatility(c, 100), { ok: false, reason: 'above-maximum' });
    assert.deepEqual(bsmImpliedVolatility({ ...c, right: 'put' }, 100), { ok: false, reason: 'above-maximum' });
  });
  test('at expiry (T = 0) Greeks are those of the payoff and nothing is NaN', () => {
    for (const right of ['call', 'put'] as const)
      for (const strike of [90, 100, 110]) {
        const s = solveContract({ spot: 100, strike, t: 0, rate: 0.065, dividendYield: 0, right }, 3);
        assert.equal(s.ivAvailable, false);
        for (const v of [s.iv, s.delta, s.gamma, s.theta, s.vega, s.rho]) assert.ok(Number.isFinite(v), `${right} ${strike}`);
        const itm = right === 'call' ? 100 > strike : 100 < strike;
        assert.equal(Math.abs(s.delta), itm ? 1 : strike === 100 ? 0.5 : 0);
      }
  });
  test('a deep out-of-the-money option priced 0 has no IV and zero Greeks', () => {
    const s = solveContract({ spot: 100, strike: 300, t: 0.05, rate: 0.065, dividendYield: 0, right: 'call' }, 0);
    assert.equal(s.ivAvailable, false);
    assert.deepEqual([s.delta, s.gamma, s.vega, s.theta, s.rho], [0, 0, 0, 0, 0]);
  });
  test('NaN and negative inputs give no IV rather than NaN', () => {
    const c: Contract = { spot: 100, strike: 100, t: 0.1, rate: 0.065, dividendYield: 0, right: 'call' };
    assert.equal(solveContract(c, Number.NaN).ivAvailable, false);
    assert.equal(solveContract(c, -1).ivAvailable, false);
    assert.equal(solveContract({ ...c, spot: Number.NaN }, 2).ivAvailable, false);
  });
});
