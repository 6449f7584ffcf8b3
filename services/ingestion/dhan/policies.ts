// How the Dhan source rides out failures: the reconnect back-off, the option-chain REST circuit
// breaker, and which disconnects are final. The project's one back-off and cockatiel's breaker, so
// that "back-off" and "open circuit" mean the same here as everywhere else.
import { type CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import type { BackoffPolicy } from '../../core/backoff.ts';

/** Feed disconnect reasons for an expired or invalid token: reconnecting cannot help. */
const AUTH_DISCONNECT_REASONS: ReadonlySet<number> = new Set([807, 808, 809]);

export function isAuthDisconnect(reason: number): boolean {
  return AUTH_DISCONNECT_REASONS.has(reason);
}

/**
 * A dropped feed connection waits this long before reconnecting (1 s doubling to 60 s). Half
 * jitter: every shard on one Dhan account loses its connections together when Dhan drops them.
 */
export function reconnectPolicy(initialMs = 1_000, maxMs = 60_000): BackoffPolicy {
  return { initialMs, maxMs, jitter: 'half' };
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** The breaker's state as a log label. */
export function breakerState(breaker: CircuitBreakerPolicy): BreakerState {
  switch (breaker.state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    default:
      return 'isolated';
  }
}

/**
 * The option-chain REST breaker: opens after `failures` consecutive failed requests, and after
 * `coolDownMs` lets one trial request through; a success closes it, a failure opens it again.
 * `execute` rejects with cockatiel's BrokenCircuitError while it is open.
 */
export function restBreaker(failures = 5, coolDownMs = 30_000): CircuitBreakerPolicy {
  return circuitBreaker(handleAll, { halfOpenAfter: coolDownMs, breaker: new ConsecutiveBreaker(failures) });
}
