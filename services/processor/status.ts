// What the processor reports in stockify.v1.Shard status: throughput, event time, errors.
import type { ShardActivity } from '../core/shard-process.ts';

/** Ticks per second are measured over windows of this length. */
const RATE_WINDOW_MS = 5_000;

export class ProcessorStatus {
  lastTickMs = 0;
  /** Records refused (sent to the dead-letter topic). */
  refused = 0;
  private ticksPerSecond = 0;
  private windowStart: number;
  private windowCount = 0;

  constructor(now = Date.now()) {
    this.windowStart = now;
  }

  /** A batch of `records` was processed; `lastTickMs` is its latest event time (0: none). */
  recordBatch(records: number, lastTickMs: number, now = Date.now()): void {
    if (lastTickMs > this.lastTickMs) this.lastTickMs = lastTickMs;
    this.windowCount += records;
    if (now - this.windowStart >= RATE_WINDOW_MS) {
      this.ticksPerSecond = (this.windowCount * 1000) / (now - this.windowStart);
      this.windowStart = now;
      this.windowCount = 0;
    }
  }

  activity(a: { instruments: number; joined: boolean; lag: number; rewinds: number }): ShardActivity {
    return {
      instruments: a.instruments,
      ticksPerSecond: this.ticksPerSecond,
      lastTickMs: this.lastTickMs,
      connectionState: a.joined ? 'CONNECTED' : 'CONNECTING',
      lag: a.lag,
      errors: this.refused + a.rewinds,
    };
  }
}
