import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcessorStatus } from '../../../services/processor/status.ts';

test('ticks per second are measured over 5-second windows; errors count refusals and rewinds', () => {
  const status = new ProcessorStatus(0);
  const at = (a = { instruments: 3, joined: true, lag: 7, rewinds: 2 }) => status.activity(a);
  status.recordBatch(400, 1_000, 1_000);
  assert.equal(at().ticksPerSecond, 0, 'a rate before the first window closed');
  status.recordBatch(600, 900, 5_000);
  status.refused = 1;
  assert.deepEqual(at(), {
    instruments: 3,
    ticksPerSecond: 200,
    lastTickMs: 1_000,
    connectionState: 'CONNECTED',
    lag: 7,
    errors: 3,
  });
  assert.equal(at({ instruments: 0, joined: false, lag: 0, rewinds: 0 }).connectionState, 'CONNECTING');
});
