import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { bsmImpliedVolatility, bsmPrice, type Contract } from '../../../services/processor/black-scholes.ts';
import { allocateGreeksBatch, type ContractBatch, solveBatch } from '../../../services/processor/greeks.ts';
import { SCALE, SEED } from '../property-seed.ts';

// Properties of the implied-volatility solve over random contracts (fast-check, fixed seed so a
// failure reproduces): IV(price(σ)) = σ, through the scalar API and the batch one alike, and a
// clear "no IV" for prices no volatility reproduces.

const RUNS = 4_000 * SCALE;

const contractArb = fc.record({
  spot: fc.double({ min: 1, max: 100_000, noNaN: true }),
  // Strike in standard deviations of the log-forward: K = F·e^{−k·σ√T}.
  k: fc.double({ min: -3.5, max: 3.5, noNaN: true }),
  // One minute to five years.
  t: fc.double({ min: 1 / (365 * 24 * 60), max: 5, noNaN: true }),
  sigma: fc.double({ min: 0.01, max: 2, noNaN: true }),
  rate: fc.double({ min: -0.01, max: 0.15, noNaN: true }),
  dividendYield: fc.double({ min: 0, max: 0.08, noNaN: true }),
  right: fc.constantFrom('call' as const, 'put' as const),
});

type Drawn = typeof contractArb extends fc.Arbitrary<infer T> ? T : never;

function toContract(d: Drawn): Contract {
  const forward = d.spot * Math.exp((d.rate - d.dividendYield) * d.t);
  return {
    spot: d.spot,
    strike: forward * Math.exp(-d.k * d.sigma * Math.sqrt(d.t)),
    t: d.t,
    rate: d.rate,
    dividendYield: d.dividendYield,
    right: d.right,
  };
}

/**
 * Whether the price carries σ to 1e-8: a 1e-8 relative change of σ moves the price by more than
 * a few hundred of its ulps (deep in the money the time value can vanish below the price's
 * rounding, and then no solver can recover σ from it).
 */
function priceCarriesSigma(c: Contract, sigma: number, price: number, ulps = 512): boolean {
  return bsmPrice(c, sigma * (1 + 1e-8)) - price > ulps * Number.EPSILON * price;
}

function oneContractBatch(c: Contract, price: number): ContractBatch {
  return {
    spot: Float64Array.of(c.spot),
    strike: Float64Array.of(c.strike),
    t: Float64Array.of(c.t),
    rate: Float64Array.of(c.rate),
    dividendYield: Float64Array.of(c.dividendYield),
    price: Float64Array.of(price),
    isCall: Uint8Array.of(c.right === 'call' ? 1 : 0),
  };
}

describe('implied volatility properties', () => {
  test('IV(price(σ)) recovers σ to 1e-8 over ±3.5 sd of moneyness, T one minute to five years, σ 1–200%', () => {
    let checked = 0;
    fc.assert(
      fc.property(contractArb, (d) => {
        const c = toContract(d);
        const price = bsmPrice(c, d.sigma);
        fc.pre(priceCarriesSigma(c, d.sigma, price));
        checked++;
        const solved = bsmImpliedVolatility(c, price);
        assert.ok(solved.ok, `no IV (${solved.ok ? '' : solved.reason})`);
        assert.ok(Math.abs(solved.volatility - d.sigma) <= 1e-8 * d.sigma, `σ ${d.sigma} solved as ${solved.volatility}`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.ok(checked > RUNS / 2, `only ${checked} of ${RUNS} contracts carried σ in their price`);
  });

  test('the batch solve recovers the same σ to 1e-8 for the same contracts', () => {
    const out = allocateGreeksBatch(1);
    fc.assert(
      fc.property(contractArb, (d) => {
        const c = toContract(d);
        const price = bsmPrice(c, d.sigma);
        fc.pre(priceCarriesSigma(c, d.sigma, price));
        assert.equal(solveBatch(oneContractBatch(c, price), out), 0, 'the contract has an IV');
        assert.ok(Math.abs((out.iv[0] as number) - d.sigma) <= 1e-8 * d.sigma, `σ ${d.sigma} solved as ${out.iv[0]}`);
        for (const g of [out.delta, out.gamma, out.theta, out.vega, out.rho]) assert.ok(Number.isFinite(g[0]));
      }),
      { seed: SEED, numRuns: RUNS / 4 },
    );
  });

  test('deep out of the money (3.5 to 12 sd) σ is recovered to 1e-8 from prices down to 1e-30 of spot', () => {
    fc.assert(
      fc.property(contractArb, fc.double({ min: 3.5, max: 12, noNaN: true }), (d, depth) => {
        // OTM: a call with K above the forward, a put with K below it.
        const c = toContract({ ...d, k: d.right === 'call' ? -depth : depth });
        const price = bsmPrice(c, d.sigma);
        fc.pre(price > 1e-30 * d.spot);
        const solved = bsmImpliedVolatility(c, price);
        assert.ok(solved.ok, `no IV for a price of ${price}`);
        assert.ok(Math.abs(solved.volatility - d.sigma) <= 1e-8 * d.sigma, `σ ${d.sigma} solved as ${solved.volatility}`);
      }),
      { seed: SEED, numRuns: RUNS / 4 },
    );
  });

  test('near expiry (one minute to one day) σ is recovered to 1e-8', () => {
    fc.assert(
      fc.property(contractArb, fc.double({ min: 1 / (365 * 24 * 60), max: 1 / 365, noNaN: true }), (d, t) => {
        const c = toContract({ ...d, t });
        const price = bsmPrice(c, d.sigma);
        fc.pre(priceCarriesSigma(c, d.sigma, price));
        const solved = bsmImpliedVolatility(c, price);
        assert.ok(
          solved.ok && Math.abs(solved.volatility - d.sigma) <= 1e-8 * d.sigma,
          `σ ${d.sigma}: ${JSON.stringify(solved)}`,
        );
      }),
      { seed: SEED, numRuns: RUNS / 4 },
    );
  });

  test('a price below the discounted intrinsic value has no IV, reason below-intrinsic, in both APIs', () => {
    const out = allocateGreeksBatch(1);
    fc.assert(
      fc.property(contractArb, fc.double({ min: 1e-6, max: 0.5, noNaN: true }), (d, shortfall) => {
        // In the money by at least half a standard deviation, so the intrinsic value is positive.
        const c = toContract({ ...d, k: d.right === 'call' ? Math.max(d.k, 0.5) : Math.min(d.k, -0.5) });
        const sign = c.right === 'call' ? 1 : -1;
        const intrinsic = sign * (c.spot * Math.exp(-c.dividendYield * c.t) - c.strike * Math.exp(-c.rate * c.t));
        fc.pre(intrinsic > 0);
        const price = intrinsic * (1 - shortfall);
        assert.deepEqual(bsmImpliedVolatility(c, price), { ok: false, reason: 'below-intrinsic' });
        assert.equal(solveBatch(oneContractBatch(c, price), out), 1);
        assert.equal(out.ivAvailable[0], 0);
        assert.equal(out.iv[0], 0);
      }),
      { seed: SEED, numRuns: RUNS / 4 },
    );
  });

  test('deep in the money, where the time value still carries σ, σ is recovered to 1e-8', () => {
    fc.assert(
      fc.property(contractArb, fc.double({ min: 2, max: 6, noNaN: true }), (d, depth) => {
        const c = toContract({ ...d, k: d.right === 'call' ? depth : -depth });
        const price = bsmPrice(c, d.sigma);
        // The test's own price is rounded through ln(F/K), which moves a deep in-the-money price by
        // about ε·intrinsic, thousands of its ulps when the time value is small: ask for 2^17.
        fc.pre(priceCarriesSigma(c, d.sigma, price, 2 ** 17));
        const solved = bsmImpliedVolatility(c, price);
        assert.ok(
          solved.ok && Math.abs(solved.volatility - d.sigma) <= 1e-8 * d.sigma,
          `σ ${d.sigma}: ${JSON.stringify(solved)}`,
        );
      }),
      { seed: SEED, numRuns: RUNS / 4 },
    );
  });
});
