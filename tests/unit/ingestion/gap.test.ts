import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { covers, gapBefore, PredecessorTicks } from '../../../services/ingestion/gap.ts';
import { SCALE } from '../property-seed.ts';

const SELF = 'new-process';

/**
 * An exchange sends packets with non-decreasing whole-second times over two instruments; the
 * predecessor published packets [0, last], this process receives [first, n). Whatever the
 * cut-off points, every packet neither published lies inside the recorded gap.
 */
const scenario = fc
  .record({
    steps: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2, maxLength: 200 }),
    lastFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    firstFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ steps, lastFrac, firstFrac }) => {
    let t = 1_767_000_000_000;
    const times = steps.map((s) => {
      t += s * 1000;
      return t;
    });
    const n = times.length;
    const last = Math.min(n - 1, Math.floor(lastFrac * n));
    const first = Math.min(n - 1, Math.floor(firstFrac * n));
    return { times, last, first };
  });

describe('ingestion gaps', () => {
  test('every packet no process published lies inside the recorded gap (fast-check, 20,000 runs)', () => {
    fc.assert(
      fc.property(scenario, ({ times, last, first }) => {
        const seen = new PredecessorTicks(SELF, new Set(['NSE_EQ:1', 'NSE_EQ:2']));
        times.slice(0, last + 1).forEach((ms, i) => {
          seen.see(i % 2 ? 'NSE_EQ:1' : 'NSE_EQ:2', ms, 'old-process');
        });
        // This process's own records are in the same topic tail and must not count.
        times.slice(first).forEach((ms, i) => {
          seen.see(i % 2 ? 'NSE_EQ:1' : 'NSE_EQ:2', ms, SELF);
        });
        const gap = gapBefore(seen.lastMs, times[first] as number);
        for (let i = last + 1; i < first; i++) {
          assert.ok(
            gap && covers(gap, times[i] as number),
            `packet ${i} at ${times[i]} is missing and outside ${JSON.stringify(gap)}`,
          );
        }
        // An overlap whose predecessor published past our first second records nothing.
        if ((times[last] as number) > (times[first] as number)) assert.equal(gap, undefined);
      }),
      { numRuns: 20_000 * SCALE },
    );
  });

  test('a crash: the gap runs from the last published tick to the first new one, both inclusive', () => {
    const seen = new PredecessorTicks(SELF, new Set(['NSE_EQ:1']));
    seen.see('NSE_EQ:1', 10_000, 'old');
    seen.see('NSE_EQ:1', 12_000, 'old');
    seen.see('NSE_EQ:1', 11_000, undefined);
    seen.see('NSE_EQ:1', 30_000, SELF);
    assert.deepEqual(gapBefore(seen.lastMs, 20_000), { fromMs: 12_000, toMs: 20_000 });
  });

  test('a handover (predecessor published past our first tick) and a new feed record no gap', () => {
    assert.equal(gapBefore(21_000, 20_000), undefined);
    assert.equal(gapBefore(undefined, 20_000), undefined);
    assert.deepEqual(
      gapBefore(20_000, 20_000),
      { fromMs: 20_000, toMs: 20_000 },
      'same second: either side may hold a lost packet',
    );
  });

  test("another shard's process publishing carried instruments into this topic says nothing about our predecessor", () => {
    const seen = new PredecessorTicks(SELF, new Set(['NSE_EQ:1']));
    seen.see('NSE_EQ:1', 10_000, 'old');
    seen.see('NSE_FNO:9', 50_000, 'carrier');
    assert.deepEqual(gapBefore(seen.lastMs, 20_000), { fromMs: 10_000, toMs: 20_000 });
  });
});
