import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RawRecord } from '../../../services/core/messages.ts';
import { instrumentSpecSchema } from '../../../services/core/shardfile.ts';
import { SimulatorSource } from '../../../services/ingestion/simulator/source.ts';
import type { Sink, SourceItem } from '../../../services/ingestion/source.ts';

const equity = instrumentSpecSchema.parse({
  symbol: 'HDFCBANK',
  securityId: '1333',
  segment: 'NSE_EQ',
  kind: 'equity',
  simulator: { price: 1650 },
});

/** Runs a real-time simulator built `builtAgoMs` before it runs; the receivedTimeMs of its first tick and when the run began. */
async function firstTick(startWhenRun: boolean, builtAgoMs: number): Promise<{ receivedMs: number; runAt: number }> {
  const source = new SimulatorSource(
    {
      seed: 3,
      ticksPerSecond: 200,
      chainSnapshotsPerSecond: 1,
      startTimeMs: Date.now() - builtAgoMs,
      instruments: [equity],
      pricing: { riskFreeRate: 0.065, dividendYield: 0 },
    },
    { realTime: true, startWhenRun },
  );
  const stop = new AbortController();
  let first: RawRecord | undefined;
  const sink: Sink = {
    emit: (item: SourceItem) => {
      if (item.kind === 'record' && first === undefined && item.record.payload === 'tick') {
        first = item.record;
        stop.abort();
      }
    },
    hasRoom: () => true,
    waitForRoom: async () => {},
  };
  const runAt = Date.now();
  await source.run(sink, stop.signal);
  if (first?.payload !== 'tick') throw new Error('the simulator emitted no tick');
  return { receivedMs: first.tick.receivedTimeMs, runAt };
}

test('a real-time session without a start time of its own stamps ticks from when it runs, not when it was built', async () => {
  const t = await firstTick(true, 5_000);
  assert.ok(t.receivedMs >= t.runAt - 5, `first tick ${t.runAt - t.receivedMs} ms behind the run's start`);
});

test('a session with a start time keeps it (simulated time follows the wall clock from that time)', async () => {
  const t = await firstTick(false, 5_000);
  assert.ok(t.receivedMs < t.runAt - 4_000, `first tick only ${t.runAt - t.receivedMs} ms behind the run's start`);
});
