// One-minute OHLCV bars in event time. Each instrument's bars close when its own watermark (the
// largest exchange time seen) enters a later minute; a late tick within the grace period amends
// its closed bar and re-emits it. Partial bars go out at most once per `partialIntervalMs` of event
// time. Everything depends on the records and their order only, never on the wall clock, so a
// replay of the same partition produces the same bars. Pure.
import type { Bar } from '../core/messages.ts';

export interface BarOptions {
  /** How long after a minute ends (in event time) a late tick may still amend its bar. */
  graceMs: number;
  /** Minimum event time between two partial emissions of one instrument's bar. */
  partialIntervalMs: number;
  /** A bar whose instrument went quiet is closed once the partition's watermark passes its end by this much. */
  idleCloseMs: number;
}

export const DEFAULT_BAR_OPTIONS: BarOptions = { graceMs: 5_000, partialIntervalMs: 1_000, idleCloseMs: 60_000 };

const MINUTE_MS = 60_000;

interface OpenBar {
  bar: Bar;
  /** Offset of the first record that contributed: replay must restart here to rebuild the bar. */
  firstOffset: number;
  lastEmitMs: number;
  dirty: boolean;
}

interface InstrumentBars {
  watermark: number;
  current: OpenBar | undefined;
  /** Closed bars still inside their grace period. */
  amendable: OpenBar[];
  lastCumEnd: number | undefined;
  lastClosedMinute: number;
}

export interface BarTick {
  instrumentId: string;
  timeMs: number;
  price: number;
  cumulativeVolume: number;
  lastQuantity: number;
  openInterest: number;
  offset: number;
}

export type BarEvent = { kind: 'emit'; bar: Bar } | { kind: 'late-dropped'; instrumentId: string };

/** Bars of the instruments of one partition. */
export class BarBuilder {
  private readonly opts: BarOptions;
  private readonly instruments = new Map<string, InstrumentBars>();
  private watermark = 0;
  private sweptSecond = 0;

  constructor(opts: Partial<BarOptions> = {}) {
    this.opts = { ...DEFAULT_BAR_OPTIONS, ...opts };
  }

  onTick(tick: BarTick): BarEvent[] {
    const events: BarEvent[] = [];
    let st = this.instruments.get(tick.instrumentId);
    if (!st) {
      st = {
        watermark: tick.timeMs,
        current: undefined,
        amendable: [],
        lastCumEnd: undefined,
        lastClosedMinute: Number.NEGATIVE_INFINITY,
      };
      this.instruments.set(tick.instrumentId, st);
    }
    st.watermark = Math.max(st.watermark, tick.timeMs);
    const minute = Math.floor(tick.timeMs / MINUTE_MS) * MINUTE_MS;
    const current = st.current;
    if (current && minute > current.bar.minuteStartMs) {
      this.close(st, current, events);
      st.current = undefined;
    }
    if (st.current && minute === st.current.bar.minuteStartMs) {
      apply(st.current, tick);
      if (tick.timeMs - st.current.lastEmitMs >= this.opts.partialIntervalMs) this.emit(st.current, tick.timeMs, false, events);
    } else if (!st.current && minute > st.lastClosedMinute) {
      st.current = this.open(st, tick, minute);
      this.emit(st.current, tick.timeMs, false, events);
    } else {
      const late = st.amendable.find((b) => b.bar.minuteStartMs === minute);
      if (late && st.watermark < minute + MINUTE_MS + this.opts.graceMs) {
        apply(late, tick);
        this.emit(late, tick.timeMs, true, events);
      } else {
        events.push({ kind: 'late-dropped', instrumentId: tick.instrumentId });
      }
    }
    st.amendable = st.amendable.filter((b) => st.watermark < b.bar.minuteStartMs + MINUTE_MS + this.opts.graceMs);
    this.advance(tick.timeMs, events);
    return events;
  }

  /** Closes every open bar whose instrument matches (e.g. at a market-status CLOSED record). */
  closeWhere(match: (instrumentId: string) => boolean): BarEvent[] {
    const events: BarEvent[] = [];
    for (const [id, st] of this.instruments) {
      if (!match(id) || !st.current) continue;
      this.close(st, st.current, events);
      st.current = undefined;
    }
    return events;
  }

  /** The smallest offset a restart must replay from to rebuild every bar still open or amendable. */
  oldestOffsetHeld(): number | undefined {
    let oldest: number | undefined;
    for (const st of this.instruments.values()) {
      for (const b of st.current ? [st.current, ...st.amendable] : st.amendable) {
        if (oldest === undefined || b.firstOffset < oldest) oldest = b.firstOffset;
      }
    }
    return oldest;
  }

  private open(st: InstrumentBars, tick: BarTick, minute: number): OpenBar {
    const cumStart = st.lastCumEnd ?? Math.max(0, tick.cumulativeVolume - tick.lastQuantity);
    return {
      bar: {
        instrumentId: tick.instrumentId,
        minuteStartMs: minute,
        open: tick.price,
        high: tick.price,
        low: tick.price,
        close: tick.price,
        volume: Math.max(0, tick.cumulativeVolume - cumStart),
        openInterest: tick.openInterest,
        tickCount: 1,
        openTimeMs: tick.timeMs,
        closeTimeMs: tick.timeMs,
        volumeCumStart: cumStart,
        volumeCumEnd: tick.cumulativeVolume,
        final: false,
      },
      firstOffset: tick.offset,
      lastEmitMs: Number.NEGATIVE_INFINITY,
      dirty: true,
    };
  }

  private close(st: InstrumentBars, b: OpenBar, events: BarEvent[]): void {
    this.emit(b, st.watermark, true, events);
    st.lastCumEnd = b.bar.volumeCumEnd;
    st.lastClosedMinute = Math.max(st.lastClosedMinute, b.bar.minuteStartMs);
    if (st.watermark < b.bar.minuteStartMs + MINUTE_MS + this.opts.graceMs) st.amendable.push(b);
  }

  private emit(b: OpenBar, atMs: number, final: boolean, events: BarEvent[]): void {
    b.bar.final = final;
    b.lastEmitMs = atMs;
    b.dirty = false;
    events.push({ kind: 'emit', bar: { ...b.bar } });
  }

  /**
   * The partition's watermark moved: once per second of event time, flush partial bars that have
   * unsent ticks and close bars of instruments that went quiet.
   */
  private advance(timeMs: number, events: BarEvent[]): void {
    if (timeMs <= this.watermark) return;
    this.watermark = timeMs;
    const second = Math.floor(timeMs / 1000);
    if (second === this.sweptSecond) return;
    this.sweptSecond = second;
    for (const st of this.instruments.values()) {
      const b = st.current;
      if (b) {
        if (timeMs >= b.bar.minuteStartMs + MINUTE_MS + this.opts.graceMs + this.opts.idleCloseMs) {
          st.watermark = Math.max(st.watermark, b.bar.minuteStartMs + MINUTE_MS + this.opts.graceMs);
          this.close(st, b, events);
          st.current = undefined;
        } else if (b.dirty && timeMs - b.lastEmitMs >= this.opts.partialIntervalMs) {
          this.emit(b, timeMs, false, events);
        }
      }
      if (st.amendable.length > 0 && timeMs >= st.watermark + this.opts.idleCloseMs) st.amendable = [];
    }
  }
}

function apply(b: OpenBar, tick: BarTick): void {
  const bar = b.bar;
  if (tick.timeMs < bar.openTimeMs) {
    bar.open = tick.price;
    bar.openTimeMs = tick.timeMs;
  }
  if (tick.timeMs >= bar.closeTimeMs) {
    bar.close = tick.price;
    bar.closeTimeMs = tick.timeMs;
    bar.volumeCumEnd = tick.cumulativeVolume;
    bar.openInterest = tick.openInterest;
  }
  if (tick.price > bar.high) bar.high = tick.price;
  if (tick.price < bar.low) bar.low = tick.price;
  bar.tickCount += 1;
  bar.volume = Math.max(0, bar.volumeCumEnd - bar.volumeCumStart);
  b.dirty = true;
}
