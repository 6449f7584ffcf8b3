import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { desiredReplicas, scaleInTarget } from '../../e2e/hpa-target.ts';

describe('the e2e scale-in target, derived from measured idle CPU', () => {
  test('the HPA algorithm: ceil(replicas × utilisation / target), unchanged inside the 10 % tolerance', () => {
    assert.equal(desiredReplicas(2, 17, 50), 1);
    assert.equal(desiredReplicas(2, 26, 50), 2); // 1.04 → 2: why a fixed 50 % target failed on a slower machine
    assert.equal(desiredReplicas(2, 52, 50), 2); // within tolerance
    assert.equal(desiredReplicas(1, 200, 50), 4);
  });

  test('keeps the configured target when idle processors are far below it', () => {
    assert.equal(scaleInTarget([10, 12, 8], 2, 50), 50);
  });

  test('raises the target on a slow machine so that two idle processors still scale in to one', () => {
    for (const idle of [26, 40, 75, 130]) {
      const target = scaleInTarget([idle, idle / 2], 2, 50);
      assert.ok(target > 50, `idle ${idle} %: target ${target}`);
      assert.equal(desiredReplicas(2, idle * 1.5, target), 1, `idle ${idle} % with 50 % noise at target ${target}`);
      assert.equal(desiredReplicas(2, idle * 1.5, target - 1) > 1 || target === 50, true, 'the smallest such target');
    }
  });

  test('refuses to guess when no utilisation was measured', () => {
    assert.throws(() => scaleInTarget([], 2, 50), /no idle utilisation measured/);
  });
});
