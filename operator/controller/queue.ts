// The work queue of the controller, after client-go's: a key is queued at most once, a key being
// processed is never handed to a second worker (it is re-queued when done if it changed meanwhile),
// delayed adds keep the earliest deadline, and failures back off exponentially per key.
import { Backoff, type BackoffPolicy } from '../../services/core/backoff.ts';
import { type Clock, systemClock, type Timer } from './clock.ts';
import type { ReconcileResult } from './result.ts';

export interface QueueOptions {
  clock?: Clock;
  /** First retry delay after a failure. */
  baseDelayMs?: number;
  /** Longest retry delay. */
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly retryPolicy: BackoffPolicy;
  private readonly order: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  /** Per-key back-off: one key failing again and again does not slow the others down. */
  private readonly backoffs = new Map<string, Backoff>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private closed = false;

  constructor(opts: QueueOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    // No jitter: the delays are per key in one process, so there is no herd to spread out.
    this.retryPolicy = { initialMs: opts.baseDelayMs ?? 500, maxMs: opts.maxDelayMs ?? 300_000, jitter: 'none' };
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.order.push(key);
  }

  /** Adds the key after a delay; an earlier pending deadline for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  /** Re-queues a failed key after base·2^(failures−1), capped; returns the delay. */
  addRateLimited(key: string): number {
    let backoff = this.backoffs.get(key);
    if (!backoff) {
      backoff = new Backoff(this.retryPolicy);
      this.backoffs.set(key, backoff);
    }
    const delay = backoff.next();
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure history of a key (after a success). */
  forget(key: string): void {
    this.backoffs.delete(key);
  }

  failures(key: string): number {
    return this.backoffs.get(key)?.attempts ?? 0;
  }

  /** The next key to process; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const key = this.order.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key processed; it is queued again if it was added while being processed. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirtyWhileProcessing.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.closed = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Keys waiting to be processed (not counting delayed ones). */
  get length(): number {
    return this.order.length;
  }

  get delayedCount(): number {
    return this.delayed.size;
  }
}

/**
 * Runs `concurrency` workers over the queue until it shuts down. A thrown error or `retry` backs
 * off; `requeueAfterMs` schedules the key again exactly then; success forgets the failures.
 */
export async function runWorkers(
  queue: WorkQueue,
  concurrency: number,
  handle: (key: string) => Promise<ReconcileResult>,
  onError: (key: string, err: unknown, retryInMs: number) => void = () => {},
): Promise<void> {
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const result = await handle(key);
        if (result.retry) {
          const delay = queue.addRateLimited(key);
          if (result.requeueAfterMs !== undefined && result.requeueAfterMs < delay) queue.addAfter(key, result.requeueAfterMs);
        } else {
          queue.forget(key);
          if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        }
      } catch (err) {
        onError(key, err, queue.addRateLimited(key));
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}
