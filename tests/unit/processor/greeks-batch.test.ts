import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bsmPrice, type Contract } from '../../../services/processor/black-scholes.ts';
import { allocateGreeksBatch, type ContractBatch, solveBatch, solveContract } from '../../../services/processor/greeks.ts';

// solveBatch has its own allocation-free Greeks (sharing x, √T and φ(d1) with the solve); these
// tests hold it to the per-contract path, which the accuracy tests pin to Hull and to finite
// differences.

interface Case {
  contract: Contract;
  price: number;
}

function batchOf(cases: Case[]): ContractBatch {
  const n = cases.length;
  const b: ContractBatch = {
    spot: new Float64Array(n),
    strike: new Float64Array(n),
    t: new Float64Array(n),
    rate: new Float64Array(n),
    dividendYield: new Float64Array(n),
    price: new Float64Array(n),
    isCall: new Uint8Array(n),
  };
  cases.forEach(({ contract: c, price }, i) => {
    b.spot[i] = c.spot;
    b.strike[i] = c.strike;
    b.t[i] = c.t;
    b.rate[i] = c.rate;
    b.dividendYield[i] = c.dividendYield;
    b.price[i] = price;
    b.isCall[i] = c.right === 'call' ? 1 : 0;
  });
  return b;
}

/** |a − b| within `relative` of the larger magnitude, or `absolute` near zero. */
const close = (a: number, b: number, relative: number, absolute: number): boolean =>
  Math.abs(a - b) <= Math.max(absolute, relative * Math.max(Math.abs(a), Math.abs(b)));

describe('solveBatch', () => {
  test('IV and every Greek agree with solveContract to 1e-11 over moneyness ±3 sd, T one hour to two years, calls and puts', () => {
    const cases: Case[] = [];
    // Runs of equal T, r, q (as in a chain) and changes between them, so the cached discount factors are exercised.
    for (const t of [1 / 8760, 1 / 365, 7 / 365, 30 / 365, 0.25, 1, 2])
      for (const q of [0, 0.01])
        for (const sigma of [0.05, 0.2, 0.6, 1])
          for (let k = -3; k <= 3; k += 0.5)
            for (const right of ['call', 'put'] as const) {
              const contract: Contract = {
                spot: 22_000,
                strike: 22_000 * Math.exp(k * sigma * Math.sqrt(t)),
                t,
                rate: 0.065,
                dividendYield: q,
                right,
              };
              cases.push({ contract, price: bsmPrice(contract, sigma) });
            }
    const out = allocateGreeksBatch(cases.length);
    assert.equal(solveBatch(batchOf(cases), out), 0, 'every contract has an IV');
    cases.forEach(({ contract, price }, i) => {
      const one = solveContract(contract, price);
      const where = `${contract.right} K=${contract.strike} T=${contract.t} q=${contract.dividendYield}`;
      assert.equal(out.ivAvailable[i], 1, where);
      assert.ok(close(out.iv[i] as number, one.iv, 1e-12, 0), `iv ${where}: ${out.iv[i]} vs ${one.iv}`);
      for (const g of ['delta', 'gamma', 'theta', 'vega', 'rho'] as const)
        assert.ok(close(out[g][i] as number, one[g], 1e-11, 1e-13), `${g} ${where}: ${out[g][i]} vs ${one[g]}`);
    });
  });

  test('contracts without an IV get the zero-volatility Greeks solveContract gives, and are counted', () => {
    const base: Contract = { spot: 100, strike: 100, t: 0.1, rate: 0.065, dividendYield: 0, right: 'call' };
    const cases: Case[] = [
      { contract: { ...base, spot: 120 }, price: 15 }, // below intrinsic
      { contract: base, price: 100 }, // at the upper bound
      { contract: { ...base, t: 0, strike: 90 }, price: 3 }, // expired
      { contract: { ...base, strike: 300, t: 0.05 }, price: 0 }, // worthless
      { contract: base, price: Number.NaN },
      { contract: { ...base, spot: Number.NaN }, price: 2 },
      { contract: { ...base, right: 'put' }, price: 2.5 }, // a good one among them
    ];
    const out = allocateGreeksBatch(cases.length);
    assert.equal(solveBatch(batchOf(cases), out), cases.length - 1);
    cases.forEach(({ contract, price }, i) => {
      const one = solveContract(contract, price);
      assert.equal(out.ivAvailable[i] === 1, one.ivAvailable, `case ${i}`);
      assert.ok(close(out.iv[i] as number, one.iv, 1e-12, 0), `iv case ${i}`);
      for (const g of ['delta', 'gamma', 'theta', 'vega', 'rho'] as const) {
        assert.ok(Number.isFinite(out[g][i]), `${g} case ${i} is finite`);
        assert.ok(close(out[g][i] as number, one[g], 1e-11, 1e-13), `${g} case ${i}: ${out[g][i]} vs ${one[g]}`);
      }
    });
  });
});
