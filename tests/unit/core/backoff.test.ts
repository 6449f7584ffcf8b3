import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff, backoffDelay } from '../../../services/core/backoff.ts';

describe('the one back-off', () => {
  test('without jitter the delays double from the initial delay up to the cap', () => {
    const b = new Backoff({ initialMs: 1_000, maxMs: 10_000, jitter: 'none' });
    assert.deepEqual(
      Array.from({ length: 6 }, () => b.next()),
      [1_000, 2_000, 4_000, 8_000, 10_000, 10_000],
    );
    assert.equal(b.attempts, 6);
  });

  test('reset starts again from the initial delay', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 60_000, jitter: 'none' });
    b.next();
    b.next();
    b.reset();
    assert.equal(b.attempts, 0);
    assert.equal(b.next(), 500);
  });

  test('half jitter stays within [d/2, d] of the un-jittered delay', () => {
    for (let run = 0; run < 200; run++) {
      const b = new Backoff({ initialMs: 100, maxMs: 5_000, jitter: 'half' });
      for (let attempt = 1; attempt <= 10; attempt++) {
        const d = Math.min(5_000, 100 * 2 ** (attempt - 1));
        const got = b.next();
        assert.ok(got >= Math.floor(d / 2) && got <= d, `attempt ${attempt}: ${got} outside [${d / 2}, ${d}]`);
      }
    }
  });

  test('backoffDelay gives the delay before attempt n of a fresh back-off', () => {
    const policy = { initialMs: 250, maxMs: 1_000, jitter: 'none' } as const;
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffDelay(policy, n)),
      [250, 500, 1_000, 1_000],
    );
  });
});
