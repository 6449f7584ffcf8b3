// What this shard may use of its Dhan account, resolved from its shard file (pure). The operator
// plans the account across every shard of every feed on the credentials Secret and writes each
// shard's share into its file (operator/desired/dhan-budget.ts); the source opens exactly those
// connections, subscribes exactly those instruments and sends chain requests only in its slots.
// A file without a budget (hand-written, one shard alone on the account) gets the whole account.

import {
  CHAIN_SEND_WINDOW_MS,
  CHAIN_SLOT_MARGIN_MS,
  DHAN_LIMITS,
  subscriptionsOf,
  USABLE_CONNECTIONS,
} from '../../../operator/desired/dhan-budget.ts';
import { instrumentId, type Segment } from '../../core/messages.ts';
import type { DhanShardBudget, InstrumentSpec, ShardFile } from '../../core/shardfile.ts';

export interface PlannedInstrument {
  segment: Segment;
  securityId: string;
  symbol: string;
  /** The shard whose raw topic gets its records. */
  home: number;
  /** Live option contracts of this underlying that may share its connection. */
  optionContracts: number;
  spec: InstrumentSpec;
}

export interface ConnectionPlan {
  /** The account's connection slot. */
  slot: number;
  instruments: PlannedInstrument[];
}

export type ChainSlots = NonNullable<DhanShardBudget['chain']>;

export interface DhanShardPlan {
  /** The account (credentials Secret) when the operator planned it. */
  account: string | undefined;
  connections: ConnectionPlan[];
  /** Instruments (with their option contracts) that fit no connection of a lone shard. */
  unplaced: { instruments: number; subscriptions: number };
  /** Undefined: this shard sends no option-chain request. */
  chain: ChainSlots | undefined;
}

const planned = (spec: InstrumentSpec, home: number): PlannedInstrument => ({
  segment: spec.segment,
  securityId: spec.securityId,
  symbol: spec.symbol,
  home,
  optionContracts: subscriptionsOf(spec) - 1,
  spec,
});

/** A lone shard: its instruments in order on up to 4 connections of 5,000 subscriptions; the rest unplaced. */
function lonePlan(own: readonly InstrumentSpec[], shard: number, pollSeconds: number): DhanShardPlan {
  const connections: ConnectionPlan[] = [];
  const unplaced = { instruments: 0, subscriptions: 0 };
  let load = 0;
  for (const spec of own) {
    const weight = subscriptionsOf(spec);
    let current = connections.at(-1);
    if (!current || load + weight > DHAN_LIMITS.instrumentsPerConnection) {
      if (connections.length >= USABLE_CONNECTIONS || weight > DHAN_LIMITS.instrumentsPerConnection) {
        unplaced.instruments += 1;
        unplaced.subscriptions += weight;
        continue;
      }
      current = { slot: connections.length, instruments: [] };
      connections.push(current);
      load = 0;
    }
    current.instruments.push(planned(spec, shard));
    load += weight;
  }
  const chain = own.some((i) => i.optionChain)
    ? {
        slotMs: Math.max(DHAN_LIMITS.chainRequestMs, pollSeconds * 1000) + CHAIN_SLOT_MARGIN_MS,
        cycle: 1,
        slots: [0],
        sendWindowMs: CHAIN_SEND_WINDOW_MS,
      }
    : undefined;
  return { account: undefined, connections, unplaced, chain };
}

/**
 * This shard's connections and chain slots. `own` are the shard's own instruments (already checked
 * to hash to it); a planned connection may also list carried instruments of other shards, whose
 * specs the file carries. An id the file cannot resolve is a broken file: it throws, naming it.
 */
export function shardPlan(file: ShardFile, own: readonly InstrumentSpec[], shard: number): DhanShardPlan {
  const src = file.source;
  if (src.type !== 'dhan') throw new Error(`shard file source is ${src.type}, not dhan`);
  const budget = src.budget;
  if (!budget) return lonePlan(own, shard, src.optionChainPollSeconds);
  const specs = new Map<string, InstrumentSpec>();
  for (const i of [...own, ...budget.carried]) specs.set(instrumentId(i.segment, i.securityId), i);
  const connections = budget.connections.map((c) => ({
    slot: c.slot,
    instruments: c.instruments.map((entry) => {
      const spec = specs.get(entry.id);
      if (!spec) throw new Error(`shard file budget lists ${entry.id}, which is neither this shard's nor carried`);
      return { ...planned(spec, entry.home), optionContracts: entry.optionContracts };
    }),
  }));
  return { account: budget.account, connections, unplaced: { instruments: 0, subscriptions: 0 }, chain: budget.chain };
}

/** The start of the first of `slots`' slots at or after `nowMs` (epoch-aligned, see dhan-budget.ts). */
export function nextChainSlot(chain: ChainSlots, nowMs: number): number {
  const mine = new Set(chain.slots.map((s) => s % chain.cycle));
  let n = Math.ceil(nowMs / chain.slotMs);
  for (let i = 0; i < chain.cycle; i++, n++) if (mine.has(n % chain.cycle)) return n * chain.slotMs;
  throw new Error('chain slots list no slot of the cycle');
}

/** Whether a request may still go at `nowMs` for the slot starting at `slotStartMs`. */
export const withinSendWindow = (chain: ChainSlots, slotStartMs: number, nowMs: number): boolean =>
  nowMs >= slotStartMs && nowMs - slotStartMs <= chain.sendWindowMs;

/** Instruments of other shards this shard's file plans it to carry, with their home shard. */
export function carriedByFile(file: ShardFile): { id: string; home: number }[] {
  if (file.source.type !== 'dhan' || !file.source.budget) return [];
  return file.source.budget.connections.flatMap((c) => c.instruments.filter((i) => i.home !== file.shard));
}
