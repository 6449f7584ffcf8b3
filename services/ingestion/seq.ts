// Per-instrument sequence numbers: increasing within a process and across restarts, because they
// start from the event time (ms × 1000) rather than from zero. Part of storage's natural key.
export class SeqClock {
  private readonly last = new Map<string, number>();

  next(instrumentId: string, timeMs: number): number {
    const floor = Math.floor(timeMs) * 1000;
    const prev = this.last.get(instrumentId) ?? -1;
    const seq = Math.max(prev + 1, floor);
    this.last.set(instrumentId, seq);
    return seq;
  }
}
