import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff, backoffDelay } from '../../../services/core/backoff.ts';
import { describeExit, RESTART_BACKOFF } from '../../../services/up/supervisor.ts';

describe('restart back-off', () => {
  test('doubles from 1 s up to the 30 s cap, without jitter', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(RESTART_BACKOFF, n)),
      [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
    );
  });

  test('a run of a minute counts as healthy: the next delay starts again from 1 s', () => {
    assert.equal(RESTART_BACKOFF.resetAfterMs, 60_000);
    const b = new Backoff(RESTART_BACKOFF);
    for (let i = 0; i < 5; i++) b.next();
    b.reset();
    assert.equal(b.next(), 1_000);
  });

  test('an exit reads as its code or its signal', () => {
    assert.equal(describeExit(1, null), 'exit 1');
    assert.equal(describeExit(null, 'SIGKILL'), 'SIGKILL');
  });
});
