import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatorSource } from '../../../services/ingestion/simulator/source.ts';
import type { Sink } from '../../../services/ingestion/source.ts';

test('a simulator shard that owns no instrument stays up and idle until stopped', async () => {
  const source = new SimulatorSource(
    {
      seed: 1,
      ticksPerSecond: 100,
      chainSnapshotsPerSecond: 1,
      startTimeMs: 0,
      instruments: [],
      pricing: { riskFreeRate: 0.065, dividendYield: 0 },
    },
    { realTime: true },
  );
  let emitted = 0;
  const sink = { emit: () => emitted++, hasRoom: () => true, waitForRoom: async () => {} } as unknown as Sink;
  const stop = new AbortController();
  let finished = false;
  const running = source.run(sink, stop.signal).then(() => {
    finished = true;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(finished, false, 'an empty shard must not end (a Deployment would crash-loop)');
  assert.equal(source.state(), 'RUNNING');
  stop.abort();
  await running;
  assert.equal(emitted, 0);
});
