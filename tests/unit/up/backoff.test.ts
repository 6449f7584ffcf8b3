import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, describeExit } from '../../../services/up/supervisor.ts';

describe('restart back-off', () => {
  test('doubles from the initial delay up to the cap', () => {
    const policy = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, policy)),
      [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
    );
  });

  test('an exit reads as its code or its signal', () => {
    assert.equal(describeExit(1, null), 'exit 1');
    assert.equal(describeExit(null, 'SIGKILL'), 'SIGKILL');
  });
});
