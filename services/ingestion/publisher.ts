// The Kafka publisher: a bounded in-memory buffer drained in batches (by size or after a linger
// time) with one sendBatch in flight, through an idempotent kafkajs producer.
//
// Broker outages: a batch that fails stays at the head of the buffer and is retried with back-off
// until it is acknowledged, so nothing handed to the publisher is dropped while the process lives.
// At the bound (`maxBuffered`) hasRoom() turns false: pull sources (simulator, replay) stop
// generating and the Dhan socket is paused until the buffer drains to the low-water mark.
// `enqueue` itself never refuses: a source may overshoot the bound by what it already holds (one
// WebSocket frame, one gRPC message) rather than lose it.
//
// Idempotence across outages: a failed batch is retried with exactly the same messages (not a
// bigger slice of a grown buffer), so the broker can recognise a batch it had written before the
// failure by its sequence numbers. Should the producer's idempotence state still be out of step
// with the broker's (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, … after a broker restart),
// retrying with it would fail forever; the producer is then replaced by a new one (a new producer
// id) through `renewProducer`, and the batch is sent again: a possible duplicate, never a loss.
import type { CompressionTypes, Message, ProducerBatch } from 'kafkajs';
import { Backoff } from '../core/backoff.ts';
import type { Logger } from '../core/log.ts';
import { RateLimitedLog } from '../core/log.ts';
import type { KafkaHeaders } from '../core/tracing.ts';
import { sleepUnlessAborted } from './source.ts';

export interface OutMessage {
  topic: string;
  key: string;
  value: Buffer;
  headers: KafkaHeaders;
  /** Label for metrics: the source, or "dlq". */
  source: string;
  enqueuedAt: number;
}

/** The part of a kafkajs Producer the publisher needs. */
export interface BatchProducer {
  sendBatch(batch: ProducerBatch): Promise<unknown>;
}

export interface PublisherHooks {
  published?(source: string, count: number): void;
  latency?(seconds: number): void;
  error?(err: unknown): void;
  depth?(depth: number): void;
}

/** Errors after which a producer's idempotence state is useless; only a new producer id helps. */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

/** The kafkajs protocol error type (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER) behind an error and its causes, if any. */
export function producerStateError(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && PRODUCER_STATE_ERRORS.has(type)) return type;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface PublisherOptions {
  maxBuffered: number;
  /** Messages per sendBatch. */
  batchSize: number;
  /** How long a partial batch waits for company. */
  lingerMs: number;
  compression?: CompressionTypes;
  retryMinMs?: number;
  retryMaxMs?: number;
  log: Logger;
  hooks?: PublisherHooks;
  /**
   * Replaces the producer after an error that leaves its idempotence state out of step with the
   * broker's (see producerStateError). Without it such a batch is retried with the same producer.
   */
  renewProducer?: () => Promise<BatchProducer>;
}

class Waiters {
  private list: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.list.push(resolve));
  }
  wakeAll(): void {
    const l = this.list;
    this.list = [];
    for (const w of l) w();
  }
}

export class Publisher {
  private producer: BatchProducer;
  private readonly opts: Required<Omit<PublisherOptions, 'compression' | 'hooks' | 'renewProducer'>> &
    Pick<PublisherOptions, 'compression' | 'hooks' | 'renewProducer'>;
  private readonly warn: RateLimitedLog;
  private queue: OutMessage[] = [];
  private head = 0;
  private enqueued = 0;
  private acked = 0;
  private running = false;
  private closing = false;
  private loop: Promise<void> | undefined;
  /** Aborted when close() gives up on the buffer, so that a retry's wait does not outlive it. */
  private readonly stopped = new AbortController();
  private readonly work = new Waiters();
  private readonly room = new Waiters();
  private readonly ackWaiters: { seq: number; resolve: () => void }[] = [];
  /** Consecutive failed batches: its `attempts` is the outage's length, `next()` the wait before a retry. */
  private readonly retry: Backoff;
  /** Size of the batch that failed last: the retry sends exactly these messages again. */
  private pinned = 0;
  private renewals = 0;
  private readonly lowWater: number;

  constructor(producer: BatchProducer, opts: PublisherOptions) {
    this.producer = producer;
    this.opts = { retryMinMs: 200, retryMaxMs: 5_000, ...opts };
    this.warn = new RateLimitedLog(opts.log, 10_000);
    this.lowWater = Math.floor(opts.maxBuffered * 0.8);
    // Half jitter: every ingestion pod retries against the same brokers after an outage.
    this.retry = new Backoff({ initialMs: this.opts.retryMinMs, maxMs: this.opts.retryMaxMs, jitter: 'half' });
  }

  get depth(): number {
    return this.queue.length - this.head;
  }

  get publishedCount(): number {
    return this.acked;
  }

  /** How many times the producer was replaced after a producer-state error. */
  get producerRenewals(): number {
    return this.renewals;
  }

  /** False while the broker is unreachable or slow (consecutive failed batches). */
  get healthy(): boolean {
    return this.retry.attempts === 0;
  }

  hasRoom(): boolean {
    return this.depth < this.opts.maxBuffered;
  }

  /** Resolves once the buffer has drained to the low-water mark (80% of the bound). */
  waitForRoom(): Promise<void> {
    return this.depth <= this.lowWater ? Promise.resolve() : this.room.wait();
  }

  /** Buffers a message; returns its position, for waitForAcked. */
  enqueue(message: OutMessage): number {
    if (this.closing && !this.running) throw new Error('publisher is closed');
    this.queue.push(message);
    this.enqueued += 1;
    this.opts.hooks?.depth?.(this.depth);
    if (this.depth >= this.opts.batchSize || this.depth === 1) this.work.wakeAll();
    return this.enqueued;
  }

  /** Resolves once everything enqueued so far has been acknowledged by Kafka (no deadline). */
  drained(): Promise<void> {
    return this.waitForAcked(this.enqueued);
  }

  /** Resolves when every message up to position `seq` has been acknowledged by Kafka. */
  waitForAcked(seq: number): Promise<void> {
    if (this.acked >= seq) return Promise.resolve();
    return new Promise((resolve) => this.ackWaiters.push({ seq, resolve }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.drain();
  }

  /**
   * Flushes what is buffered (retrying through outages until the deadline) and stops. Returns how
   * many messages could not be delivered (0 on a clean shutdown).
   */
  async close(deadlineMs = 30_000): Promise<number> {
    this.closing = true;
    this.work.wakeAll();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const flushed = this.waitForAcked(this.enqueued).then(() => 'flushed' as const);
    const outcome = await Promise.race([flushed, deadline]);
    clearTimeout(timer);
    this.running = false;
    this.stopped.abort();
    this.work.wakeAll();
    // A send still in flight past the deadline is not waited for beyond a short grace.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (grace = setTimeout(r, 1_000)))]);
    clearTimeout(grace);
    const left = this.depth;
    if (outcome === 'deadline' && left > 0) {
      this.opts.log.error({ undelivered: left, deadlineMs }, 'publisher closed with undelivered messages');
    }
    return left;
  }

  private async drain(): Promise<void> {
    while (this.running) {
      if (this.depth === 0) {
        if (this.closing) {
          this.running = false;
          break;
        }
        await this.work.wait();
        continue;
      }
      if (this.depth < this.opts.batchSize && !this.closing) {
        // Linger for company, but wake early when the batch fills up.
        await Promise.race([sleepUnlessAborted(this.opts.lingerMs, this.stopped.signal), this.work.wait()]);
        if (!this.running) break;
      }
      const batch = this.queue.slice(this.head, this.head + (this.pinned || this.opts.batchSize));
      try {
        await this.producer.sendBatch({
          acks: -1,
          compression: this.opts.compression,
          topicMessages: groupByTopic(batch),
        });
      } catch (err) {
        const wait = this.retry.next();
        this.opts.hooks?.error?.(err);
        this.warn.warn(
          'publish-failed',
          { err, batch: batch.length, buffered: this.depth, attempt: this.retry.attempts },
          'publishing to Kafka failed; the batch stays buffered and is retried',
        );
        this.pinned = batch.length;
        await sleepUnlessAborted(wait, this.stopped.signal);
        if (!this.running) break;
        const stateError = producerStateError(err);
        if (stateError && this.opts.renewProducer) await this.renew(stateError);
        continue;
      }
      this.pinned = 0;
      if (this.retry.attempts > 0) {
        this.opts.log.info({ attempts: this.retry.attempts, buffered: this.depth }, 'publishing to Kafka recovered');
      }
      this.retry.reset();
      this.settle(batch);
    }
  }

  private async renew(reason: string): Promise<void> {
    try {
      this.producer = (await this.opts.renewProducer?.()) ?? this.producer;
      this.renewals += 1;
      this.opts.log.warn(
        { reason, renewals: this.renewals, buffered: this.depth },
        'Kafka producer replaced (its idempotence state was out of step with the broker); the failed batch is sent again',
      );
    } catch (err) {
      this.opts.hooks?.error?.(err);
      this.warn.warn('renew-failed', { err, reason }, 'replacing the Kafka producer failed; retrying');
    }
  }

  private settle(batch: OutMessage[]): void {
    this.head += batch.length;
    this.acked += batch.length;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const now = Date.now();
    const hooks = this.opts.hooks;
    if (hooks) {
      const bySource = new Map<string, number>();
      for (const m of batch) {
        bySource.set(m.source, (bySource.get(m.source) ?? 0) + 1);
        hooks.latency?.((now - m.enqueuedAt) / 1000);
      }
      for (const [source, n] of bySource) hooks.published?.(source, n);
      hooks.depth?.(this.depth);
    }
    if (this.depth <= this.lowWater) this.room.wakeAll();
    for (let i = this.ackWaiters.length - 1; i >= 0; i--) {
      const w = this.ackWaiters[i];
      if (w && w.seq <= this.acked) {
        this.ackWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

function groupByTopic(batch: readonly OutMessage[]): ProducerBatch['topicMessages'] {
  const byTopic = new Map<string, Message[]>();
  for (const m of batch) {
    let list = byTopic.get(m.topic);
    if (!list) {
      list = [];
      byTopic.set(m.topic, list);
    }
    list.push({ key: m.key, value: m.value, headers: m.headers as Message['headers'] });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
