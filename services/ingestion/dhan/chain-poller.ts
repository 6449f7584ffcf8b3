// The option-chain poller: walks the ChainPlanner one REST request per chain slot of this shard,
// behind the REST circuit breaker, and hands each chain snapshot to the sink. The slots are the
// shard's share of its Dhan account's one request per 3 s (budget.ts): epoch-aligned, so shards in
// different processes never send within 3 s of each other without talking. A timer that fires too
// late for its slot skips it rather than crowd the next shard's. An HTTP 401 ends it (the token is
// expired; retrying cannot help).
import { BrokenCircuitError } from 'cockatiel';
import type { Logger } from '../../core/log.ts';
import { instrumentId, type RawRecord } from '../../core/messages.ts';
import { type Sink, sleepUnlessAborted } from '../source.ts';
import { type ChainSlots, nextChainSlot, withinSendWindow } from './budget.ts';
import {
  ChainPlanner,
  type ChainUnderlying,
  chainRecord,
  HttpStatusError,
  parseExpiryList,
  parseOptionChain,
  postJson,
  type RestOptions,
} from './optionchain.ts';
import { breakerState, restBreaker } from './policies.ts';
import type { ScripMaster } from './scrip-master.ts';

export interface ChainPollerOptions {
  chains: readonly ChainUnderlying[];
  /** When this shard may send (its share of the account's one request per 3 s). */
  slots: ChainSlots;
  rest: RestOptions;
  scripMaster?: ScripMaster;
  breakerFailures?: number;
  breakerCoolDownMs?: number;
  log: Logger;
  /** Whether the token is known to be expired (by the feed or by this poller). */
  expired(): boolean;
  tokenExpired(detail: string): void;
}

type Step = NonNullable<ReturnType<ChainPlanner['next']>>;

export async function pollChains(opts: ChainPollerOptions, sink: Sink, signal: AbortSignal): Promise<void> {
  const planner = new ChainPlanner(opts.chains);
  const breaker = restBreaker(opts.breakerFailures, opts.breakerCoolDownMs);
  const now = Date.now;
  let lastDay = new Date(now()).toISOString().slice(0, 10);
  let lastSlot = Number.NEGATIVE_INFINITY;
  while (!signal.aborted && !opts.expired()) {
    const slot = nextChainSlot(opts.slots, Math.max(now(), lastSlot + 1));
    // Timers never fire early by the monotonic clock, but the wall clock may have stepped back.
    while (!signal.aborted && now() < slot) await sleepUnlessAborted(slot - now(), signal);
    if (signal.aborted || opts.expired()) break;
    lastSlot = slot;
    if (!withinSendWindow(opts.slots, slot, now())) {
      opts.log.debug({ lateMs: now() - slot }, 'option chain slot missed (timer late); waiting for the next one');
      continue;
    }
    const today = new Date(now()).toISOString().slice(0, 10);
    if (today !== lastDay) {
      planner.refresh();
      lastDay = today;
    }
    const step = planner.next();
    if (!step) continue;
    try {
      const out = await breaker.execute(() => request(opts, planner, step));
      if (out) {
        if (!sink.hasRoom()) await sink.waitForRoom();
        sink.emit({ kind: 'record', source: 'dhan', key: out.key, record: out.record });
      }
    } catch (err) {
      // An open circuit skips this turn quietly: the failures that opened it were logged.
      if (!(err instanceof BrokenCircuitError)) {
        if (err instanceof HttpStatusError && err.status === 401) {
          opts.tokenExpired('option chain API answered HTTP 401');
          break;
        }
        opts.log.warn({ err: (err as Error).message, breaker: breakerState(breaker) }, 'option chain request failed');
      }
    }
  }
}

/** One request of the plan: an expiry list updates the planner; a chain becomes a record. */
async function request(
  opts: ChainPollerOptions,
  planner: ChainPlanner,
  step: Step,
): Promise<{ key: string; record: RawRecord } | undefined> {
  const underlying = { UnderlyingScrip: Number(step.u.securityId), UnderlyingSeg: step.u.segment };
  if (step.kind === 'expirylist') {
    planner.setExpiries(step.u, parseExpiryList(await postJson(opts.rest, '/optionchain/expirylist', underlying)));
    return undefined;
  }
  const body = await postJson(opts.rest, '/optionchain', { ...underlying, Expiry: step.expiry });
  const now = Date.now();
  const key = instrumentId(step.u.segment, step.u.securityId);
  const seq = planner.seq.next(`${key}|${step.expiry}`, now);
  const snapshot = parseOptionChain(body, step.u, step.expiry, now, seq, opts.scripMaster);
  return { key, record: chainRecord(snapshot) };
}
