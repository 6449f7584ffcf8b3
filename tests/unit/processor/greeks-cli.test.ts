import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateLine } from '../../../services/processor/greeks-cli.ts';

const NOW = Date.parse('2026-11-20T04:00:00Z');
const line = (o: Record<string, unknown>): Record<string, unknown> =>
  evaluateLine(JSON.stringify({ spot: 100, strike: 80, rate: 0, type: 'call', t: 0.5, ...o }), 1, NOW);

describe('stockify greeks: a price without implied volatility', () => {
  test('a solvable price has an iv and no ivReason', () => {
    const r = evaluateLine(JSON.stringify({ spot: 42, strike: 40, rate: 0.1, type: 'call', t: 0.5, price: 4.7594 }), 1, NOW);
    assert.equal(r.ivAvailable, true);
    assert.ok(Math.abs((r.iv as number) - 0.2) < 1e-4, `iv ${r.iv}`);
    assert.equal('ivReason' in r, false);
  });

  test('below the intrinsic value: iv null, ivReason below-intrinsic', () => {
    const r = line({ price: 10 });
    assert.deepEqual([r.ivAvailable, r.iv, r.ivReason], [false, null, 'below-intrinsic']);
    assert.equal(r.price, 10);
    assert.equal(typeof r.delta, 'number', 'Greeks of the zero-volatility limit are still given');
  });

  test('at or above the upper bound: iv null, ivReason above-maximum', () => {
    assert.deepEqual([line({ price: 150 }).iv, line({ price: 150 }).ivReason], [null, 'above-maximum']);
    const put = line({ type: 'put', strike: 120, price: 130 });
    assert.deepEqual([put.iv, put.ivReason], [null, 'above-maximum']);
  });

  test('no time value: expired (t = 0) or priced exactly at intrinsic', () => {
    const expired = line({ t: 0, price: 20 });
    assert.deepEqual([expired.ivAvailable, expired.iv, expired.ivReason], [false, null, 'no-time-value']);
    const atIntrinsic = line({ price: 20 });
    assert.deepEqual([atIntrinsic.iv, atIntrinsic.ivReason], [null, 'no-time-value']);
  });

  test('the result is JSON with iv null, never 0, when unavailable', () => {
    const text = JSON.stringify(line({ price: 10 }));
    assert.match(text, /"iv":null/);
    assert.match(text, /"ivReason":"below-intrinsic"/);
  });
});
