// The one back-off of the project: every retry loop (Dhan reconnects, Kafka publish retries, the
// operator's work queue, `stockify up` restarts) waits by this policy, built on cockatiel's
// exponential back-off so that jitter and caps mean the same thing everywhere.
import { ExponentialBackoff, halfJitterGenerator, type IBackoff, noJitterGenerator } from 'cockatiel';

export interface BackoffPolicy {
  /** The first delay. */
  initialMs: number;
  /** No delay is longer than this. */
  maxMs: number;
  /**
   * `half`: a random delay in [d/2, d) where d doubles each attempt, so that many clients failing
   * together do not retry together; `none`: exactly d (deterministic, for a single local process).
   */
  jitter: 'half' | 'none';
}

/** Delays for one thing that keeps failing: `next()` grows up to the cap, `reset()` after a success. */
export class Backoff {
  private readonly factory: ExponentialBackoff<number>;
  private current: IBackoff<unknown> | undefined;
  private count = 0;
  readonly policy: BackoffPolicy;

  constructor(policy: BackoffPolicy) {
    this.policy = policy;
    this.factory = new ExponentialBackoff<number>({
      initialDelay: policy.initialMs,
      maxDelay: policy.maxMs,
      generator: policy.jitter === 'half' ? halfJitterGenerator : noJitterGenerator,
    });
  }

  /** The delay before the next attempt (the first call returns about `initialMs`). */
  next(): number {
    this.current = this.current ? this.current.next(undefined) : this.factory.next();
    this.count += 1;
    return this.current.duration;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.count;
  }

  reset(): void {
    this.current = undefined;
    this.count = 0;
  }
}

/** The delay before attempt `n` (1-based) of a fresh back-off with `policy`. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const b = new Backoff(policy);
  let delay = 0;
  for (let i = 0; i < Math.max(1, attempt); i++) delay = b.next();
  return delay;
}
