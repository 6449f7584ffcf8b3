// The pipeline every source feeds (the Sink): validate, encode, buffer for Kafka; refused input
// goes to the dead-letter topic with its reason and original bytes, is counted and logged once
// per kind, and the stream goes on.

import type { Logger } from '../core/log.ts';
import { RateLimitedLog } from '../core/log.ts';
import type { DeadLetter, RawRecord } from '../core/messages.ts';
import { codec, SCHEMA_VERSION } from '../core/proto.ts';
import { dlqTopic, rawTopic } from '../core/topics.ts';
import { injectTraceHeaders } from '../core/tracing.ts';
import { PRODUCER_HEADER } from './gap.ts';
import type { IngestionMetrics } from './metrics.ts';
import type { Publisher } from './publisher.ts';
import type { Sink, SourceItem, SourceName } from './source.ts';
import { type ValidationContext, type Verdict, validateRecord } from './validate.ts';

const rawCodec = codec<RawRecord>('RawRecord');
const dlqCodec = codec<DeadLetter>('DeadLetter');

export interface PipelineOptions {
  namespace: string;
  feed: string;
  shardIndex: number;
  shardCount: number;
  /** The instruments (and derived contracts) this shard publishes, carried ones included. */
  known: ReadonlySet<string>;
  /** Sources whose timestamps are checked against the wall clock (live ones). */
  skewCheckedSources: ReadonlySet<SourceName>;
  maxSkewMs: number;
  /** Written into every record's PRODUCER_HEADER: which process published it (gap.ts). */
  producerId?: string;
  publisher: Publisher;
  metrics: IngestionMetrics;
  log: Logger;
  now?: () => number;
}

/** Ticks per second over a sliding 10-second window. */
class RateWindow {
  private readonly buckets = new Array<number>(10).fill(0);
  private second = 0;
  add(nowMs: number, n = 1): void {
    this.roll(nowMs);
    this.buckets[this.second % 10] = (this.buckets[this.second % 10] ?? 0) + n;
  }
  rate(nowMs: number): number {
    this.roll(nowMs);
    return this.buckets.reduce((s, b) => s + b, 0) / 10;
  }
  private roll(nowMs: number): void {
    const s = Math.floor(nowMs / 1000);
    if (s === this.second) return;
    for (let i = this.second + 1; i <= Math.min(s, this.second + 10); i++) this.buckets[i % 10] = 0;
    this.second = s;
  }
}

export class Pipeline implements Sink {
  private readonly opts: PipelineOptions;
  private readonly once: RateLimitedLog;
  private readonly topic: string;
  private readonly dlq: string;
  private readonly now: () => number;
  private readonly rate = new RateWindow();
  lastTickMs = 0;
  /** Resolves with the exchange time of the first tick accepted (the gap check's T1). */
  readonly firstTick: Promise<number>;
  private resolveFirstTick: ((ms: number) => void) | undefined;
  errors = 0;
  accepted = 0;
  rejected = 0;

  constructor(opts: PipelineOptions) {
    this.opts = opts;
    this.once = new RateLimitedLog(opts.log, 60_000);
    this.topic = rawTopic(opts.namespace, opts.feed, opts.shardIndex);
    this.dlq = dlqTopic(opts.namespace, opts.feed);
    this.now = opts.now ?? Date.now;
    this.firstTick = new Promise((resolve) => {
      this.resolveFirstTick = resolve;
    });
  }

  get rawTopic(): string {
    return this.topic;
  }

  get dlqTopic(): string {
    return this.dlq;
  }

  ticksPerSecond(): number {
    return this.rate.rate(this.now());
  }

  hasRoom(): boolean {
    return this.opts.publisher.hasRoom();
  }

  waitForRoom(): Promise<void> {
    return this.opts.publisher.waitForRoom();
  }

  emit(item: SourceItem): void {
    this.submit(item);
  }

  /**
   * Validates and buffers one item. Returns the verdict and, for an accepted record, its position
   * in the publisher (for waitForAcked).
   */
  submit(item: SourceItem): { verdict: Verdict; position: number } {
    this.opts.metrics.received.inc({ source: item.source });
    if (item.kind === 'reject') {
      return { verdict: { ok: false, reason: item.reason, detail: item.detail }, position: this.reject(item) };
    }
    // A carried instrument is checked and published as its home shard's (source.ts `home`).
    const home = item.home ?? this.opts.shardIndex;
    const ctx: ValidationContext = {
      shardIndex: home,
      shardCount: this.opts.shardCount,
      known: this.opts.known,
      nowMs: this.now(),
      maxSkewMs: this.opts.skewCheckedSources.has(item.source) ? this.opts.maxSkewMs : undefined,
    };
    const verdict = validateRecord(item.record, ctx);
    const value = rawCodec.encode(item.record);
    if (!verdict.ok) {
      if (verdict.reason === 'not-in-shard' && item.source === 'replay') {
        // A recording shared by all shards: the other shards' lines are not errors.
        this.opts.metrics.skipped.inc({ source: item.source, reason: verdict.reason });
        this.once.warn(`skip-${verdict.reason}`, { detail: verdict.detail }, 'skipping records of instruments other shards own');
        return { verdict, position: 0 };
      }
      const position = this.reject({
        kind: 'reject',
        source: item.source,
        reason: verdict.reason,
        detail: verdict.detail,
        instrumentId: item.key,
        payload: item.raw ?? value,
      });
      return { verdict, position };
    }
    const nowMs = this.now();
    if (item.record.payload === 'tick') {
      this.rate.add(nowMs);
      this.lastTickMs = Math.max(this.lastTickMs, item.record.tick.exchangeTimeMs);
      this.resolveFirstTick?.(item.record.tick.exchangeTimeMs);
      this.resolveFirstTick = undefined;
    } else if (item.record.payload === 'chain') {
      this.lastTickMs = Math.max(this.lastTickMs, item.record.chain.exchangeTimeMs);
    }
    this.accepted += 1;
    const position = this.opts.publisher.enqueue({
      topic: home === this.opts.shardIndex ? this.topic : rawTopic(this.opts.namespace, this.opts.feed, home),
      key: item.key,
      value,
      headers: injectTraceHeaders(this.opts.producerId ? { [PRODUCER_HEADER]: this.opts.producerId } : {}),
      source: item.source,
      enqueuedAt: nowMs,
    });
    return { verdict, position };
  }

  private reject(item: Extract<SourceItem, { kind: 'reject' }>): number {
    this.rejected += 1;
    this.errors += 1;
    this.opts.metrics.rejected.inc({ source: item.source, reason: item.reason });
    this.once.warn(
      `${item.source}-${item.reason}`,
      { source: item.source, reason: item.reason, instrument: item.instrumentId, detail: item.detail },
      'bad input sent to the dead-letter topic',
    );
    const letter: DeadLetter = {
      schemaVersion: SCHEMA_VERSION,
      stage: 'ingestion',
      reason: `${item.reason}: ${item.detail}`,
      source: item.source,
      instrumentId: item.instrumentId,
      payload: item.payload,
      timeMs: this.now(),
      originTopic: '',
      originPartition: -1,
      originOffset: '',
    };
    return this.opts.publisher.enqueue({
      topic: this.dlq,
      key: item.instrumentId || item.reason,
      value: dlqCodec.encode(letter),
      headers: injectTraceHeaders({}),
      source: 'dlq',
      enqueuedAt: this.now(),
    });
  }
}
