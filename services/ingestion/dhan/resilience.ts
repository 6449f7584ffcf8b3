// Reconnect back-off and a REST circuit breaker (pure: time is passed in).

/** Full-jitter exponential back-off: a random delay in [base·2ⁿ/2, base·2ⁿ], capped. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(20, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Opens after `failureThreshold` consecutive failures; after `coolDownMs` lets one trial call
 * through (half-open); a success closes it, a failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private current: BreakerState = 'closed';
  private trialInFlight = false;
  private readonly failureThreshold: number;
  private readonly coolDownMs: number;

  constructor(failureThreshold: number, coolDownMs: number) {
    this.failureThreshold = failureThreshold;
    this.coolDownMs = coolDownMs;
  }

  state(nowMs: number): BreakerState {
    if (this.current === 'open' && nowMs - this.openedAt >= this.coolDownMs) this.current = 'half-open';
    return this.current;
  }

  /** Whether a call may go out now (in half-open, only one trial at a time). */
  allow(nowMs: number): boolean {
    const s = this.state(nowMs);
    if (s === 'closed') return true;
    if (s === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.current = 'closed';
    this.trialInFlight = false;
  }

  failure(nowMs: number): void {
    this.trialInFlight = false;
    this.failures += 1;
    if (this.current === 'half-open' || this.failures >= this.failureThreshold) {
      this.current = 'open';
      this.openedAt = nowMs;
    }
  }
}
