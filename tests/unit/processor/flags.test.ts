import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processorFlags } from '../../../services/processor/flags.ts';

test('bar flags become bar options; absent flags keep the defaults', () => {
  assert.deepEqual(processorFlags.parse({}), {});
  assert.deepEqual(processorFlags.parse({ 'bar-grace-ms': '2500', 'bar-partial-ms': '0' }), {
    graceMs: 2500,
    partialIntervalMs: 0,
  });
});

test('a bar flag that is not a whole number of milliseconds ≥ 0 is refused', () => {
  for (const bad of ['-1', '1.5', 'soon']) {
    assert.equal(processorFlags.safeParse({ 'bar-grace-ms': bad }).success, false, bad);
  }
});
