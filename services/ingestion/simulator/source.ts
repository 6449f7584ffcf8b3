// The simulator as a Source: paces the pure MarketSimulator in real time (simulated time follows
// the wall clock from the start) or as fast as possible, and stops generating while the
// publisher's buffer is full.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type ConnectionState, type Sink, type Source, sleepUnlessAborted } from '../source.ts';
import { MarketSimulator, type SimulatorConfig } from './simulator.ts';

export interface SimulatorSourceOptions {
  realTime: boolean;
  /** Stop after this many records (tests, benchmarks); unlimited by default. */
  limit?: number;
  /**
   * The session starts when the source runs (the config's startTimeMs is replaced by that moment):
   * for a feed without a start time of its own. Taking the moment the source was built instead put
   * every real-time tick behind the wall clock by the start-up in between (Kafka, gRPC, the gap
   * check: ~200 ms), which the end-to-end bench counted as latency.
   */
  startWhenRun?: boolean;
}

export class SimulatorSource implements Source {
  readonly name = 'simulator' as const;
  private readonly cfg: SimulatorConfig;
  private readonly opts: SimulatorSourceOptions;
  private current: ConnectionState = 'STARTING';
  generated = 0;

  constructor(cfg: SimulatorConfig, opts: SimulatorSourceOptions) {
    this.cfg = cfg;
    this.opts = opts;
  }

  state(): ConnectionState {
    return this.current;
  }

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    if (this.cfg.instruments.length === 0) {
      // A shard can own no instrument (few instruments, many shards): it stays up and idle,
      // like a Deployment should, instead of crash-looping.
      this.current = 'RUNNING';
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return;
    }
    const wallStart = Date.now();
    const cfg = this.opts.startWhenRun ? { ...this.cfg, startTimeMs: wallStart } : this.cfg;
    const sim = new MarketSimulator(cfg);
    this.current = 'RUNNING';
    const limit = this.opts.limit ?? Number.POSITIVE_INFINITY;
    while (!signal.aborted && this.generated < limit) {
      if (!sink.hasRoom()) {
        await Promise.race([sink.waitForRoom(), new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
        continue;
      }
      const event = sim.next();
      if (this.opts.realTime) {
        const wait = wallStart + (event.timeMs - cfg.startTimeMs) - Date.now();
        if (wait > 1) await sleepUnlessAborted(wait, signal);
        if (signal.aborted) break;
      }
      sink.emit({ kind: 'record', source: 'simulator', key: event.key, record: event.record });
      this.generated += 1;
      if (!this.opts.realTime && this.generated % 500 === 0) await yieldToLoop();
    }
    this.current = signal.aborted ? 'STOPPED' : 'FINISHED';
  }
}
