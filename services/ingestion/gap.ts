// Whether a new ingestion process starts with a hole behind it, and exactly where (pure).
//
// The new process publishes from its first tick F on (exchange time T1); its predecessor published
// up to its last tick P. Ticks lost are those the exchange sent after P and before F. The exchange
// stamps packets with non-decreasing times in the order it sends them (per instrument its trade
// times; across a shard's instruments the exchange's clock), so P is the predecessor's tick with
// the greatest time, L. Hence:
//   - L > T1: P was sent after F, the two processes overlapped (a handover), nothing is lost;
//   - L ≤ T1: every lost tick t has L ≤ time(t) ≤ T1 — the gap [L, T1], both ends inclusive, holds
//     every missing tick by construction (equal times included: same-second packets either side).
//   - no predecessor tick at all: a new feed, nothing to compare with, no gap.
// "The predecessor's ticks" are the shard topic's tick records not written by this process (a
// header names the producing process), read after this process's first tick is in Kafka and the
// predecessor, if alive, has had time to publish past it (gap-check.ts).

/** Kafka header naming the process that produced a raw record (a random id per process start). */
export const PRODUCER_HEADER = 'stockify-producer';

export interface GapWindow {
  fromMs: number;
  toMs: number;
}

/**
 * Tick records found in the shard topic's tail, seen through the producer header. Only the
 * instruments this process subscribes count: another shard's process may publish instruments it
 * carries into this topic, and its ticks say nothing about this shard's predecessor.
 */
export class PredecessorTicks {
  private readonly self: string;
  private readonly instruments: ReadonlySet<string>;
  private latest: number | undefined;

  constructor(selfProducerId: string, instruments: ReadonlySet<string>) {
    this.self = selfProducerId;
    this.instruments = instruments;
  }

  /** One tick record of the tail: its exchange time and the producer header (undefined: an older version wrote it). */
  see(instrumentId: string, exchangeTimeMs: number, producer: string | undefined): void {
    if (producer === this.self || !this.instruments.has(instrumentId)) return;
    if (this.latest === undefined || exchangeTimeMs > this.latest) this.latest = exchangeTimeMs;
  }

  /** L: the greatest exchange time the predecessors published, undefined when they published none. */
  get lastMs(): number | undefined {
    return this.latest;
  }
}

/** The gap in front of a process whose first tick had exchange time firstNewMs, if any. */
export function gapBefore(predecessorLastMs: number | undefined, firstNewMs: number): GapWindow | undefined {
  if (predecessorLastMs === undefined) return undefined;
  if (predecessorLastMs > firstNewMs) return undefined;
  return { fromMs: predecessorLastMs, toMs: firstNewMs };
}

/** Whether a tick with this exchange time lies inside a recorded gap (the property the gap gives users). */
export const covers = (gap: GapWindow, exchangeTimeMs: number): boolean =>
  exchangeTimeMs >= gap.fromMs && exchangeTimeMs <= gap.toMs;
