// The status of a MarketFeed from what the reconcile observed. Pure (the clock is an input), so
// every condition and reason is specified by a table in the unit tests.
import { COMPONENTS } from '../../services/core/names.ts';
import type { MarketFeed, MarketFeedStatus } from '../crd/types.ts';
import { DHAN_LIMITS } from '../desired/dhan-budget.ts';
import { deploymentName, type FeedBudget, LABEL_INSTANCE, shardInstruments } from '../desired/index.ts';
import type { MarketState } from '../schedule.ts';
import { rfc3339, setCondition } from './conditions.ts';
import type { Problem, ProblemReason } from './problems.ts';

export type ReadyReason = 'AllShardsReady' | 'ShardsNotReady';
export type ProgressingReason = 'Complete' | 'Paused' | 'Resharding' | 'RollingOut';
export type DegradedReason = ProblemReason | 'AsExpected';
export type MarketOpenReason = MarketState['reason'] | 'InvalidTimezone';

type ConditionOf<Type, Reason> = { type: Type; status: 'True' | 'False' | 'Unknown'; reason: Reason; message: string };
/** The conditions the operator sets, each with its closed list of reasons. */
export type FeedCondition =
  | ConditionOf<'Ready', ReadyReason>
  | ConditionOf<'Progressing', ProgressingReason>
  | ConditionOf<'Degraded', DegradedReason>
  | ConditionOf<'MarketOpen', MarketOpenReason>;

/** A Deployment as far as readiness goes. */
export interface ObservedDeployment {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: { availableReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
}

/** A removed shard still waiting for its consumers; `lag` once it could be measured. */
export interface DrainingShard {
  index: number;
  lag?: number;
}

export interface Observed {
  /** The feed with its parsed spec; metadata.generation and status as read. */
  feed: MarketFeed;
  /** The feed namespace's Deployments by name. */
  deployments: ReadonlyMap<string, ObservedDeployment>;
  draining: readonly DrainingShard[];
  /** Undefined when the schedule cannot be evaluated. */
  market: MarketState | undefined;
  boundary: Date | undefined;
  /** In the order to report them: the first one's reason is Degraded's. */
  problems: readonly Problem[];
  /** Objects written by this reconcile. */
  applied: number;
  /** Consumer lag by shard when measured (feeds that scale on lag). */
  lag?: ReadonlyMap<number, { processor: number; storage: number }> | undefined;
  /** The Dhan account budget the applied objects use (Dhan feeds). */
  dhanBudget?: FeedBudget | undefined;
  /** Ingestion rollouts held back for the account's spare connection (rollout-gate.ts): why. */
  heldRollouts?: string | undefined;
  now: Date;
}

const MARKET_MESSAGES: Record<MarketState['reason'], string> = {
  Open: 'within market hours',
  AlwaysOpen: 'no schedule: always open',
  Closed: 'outside market hours',
  Holiday: 'market holiday',
};

/** Available and updated at the wanted replicas, for the Deployment's current generation. */
export function deploymentReady(d: ObservedDeployment | undefined): boolean {
  if (!d) return false;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
  return want === 0 || ((s.availableReplicas ?? 0) >= want && (s.updatedReplicas ?? 0) >= want);
}

function readyCondition(readyShards: number, shards: number): FeedCondition {
  const message = `${readyShards}/${shards} shards ready`;
  if (readyShards === shards) return { type: 'Ready', status: 'True', reason: 'AllShardsReady', message };
  return { type: 'Ready', status: 'False', reason: 'ShardsNotReady', message };
}

function progressingCondition(o: Observed, readyShards: number): FeedCondition {
  const shards = o.feed.spec.shards;
  if (o.draining.length > 0) {
    const removed = o.draining.map((d) => d.index).join(', ');
    const message = `draining removed shard(s) ${removed} before deleting them`;
    return { type: 'Progressing', status: 'True', reason: 'Resharding', message };
  }
  if (o.heldRollouts) return { type: 'Progressing', status: 'True', reason: 'RollingOut', message: o.heldRollouts };
  if (readyShards < shards || o.applied > 0) {
    return { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `${readyShards}/${shards} shards ready` };
  }
  return { type: 'Progressing', status: 'False', reason: 'Complete', message: `${shards} shard(s) up to date` };
}

function degradedCondition(problems: readonly Problem[]): FeedCondition {
  const first = problems[0];
  if (!first) return { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'no problems found' };
  return { type: 'Degraded', status: 'True', reason: first.reason, message: problems.map((p) => p.message).join('; ') };
}

function marketOpenCondition(market: MarketState | undefined): FeedCondition {
  if (!market) {
    return { type: 'MarketOpen', status: 'Unknown', reason: 'InvalidTimezone', message: 'the schedule cannot be evaluated' };
  }
  const status = market.open ? 'True' : 'False';
  return { type: 'MarketOpen', status, reason: market.reason, message: MARKET_MESSAGES[market.reason] };
}

/** The feed's status with some conditions set (the others kept) at its current generation. */
export function withConditions(
  feed: Pick<MarketFeed, 'metadata' | 'status'>,
  conditions: readonly FeedCondition[],
  now: Date,
): MarketFeedStatus {
  const generation = feed.metadata.generation ?? 0;
  let next = [...(feed.status?.conditions ?? [])];
  for (const c of conditions) next = setCondition(next, c, generation, now);
  // A boundary is only reported by a full reconcile, which knows it is still ahead.
  const { nextScheduleBoundary: _dropped, ...rest } = feed.status ?? {};
  return { ...rest, observedGeneration: generation, conditions: next };
}

export const pausedStatus = (
  feed: Pick<MarketFeed, 'metadata' | 'status'>,
  now: Date,
  why = 'spec.paused is true',
): MarketFeedStatus =>
  withConditions(
    feed,
    [{ type: 'Progressing', status: 'False', reason: 'Paused', message: `${why}: nothing is reconciled` }],
    now,
  );

/**
 * A Dhan feed that does not fit the account it shares with other feeds: Degraded with the limit
 * named, and nothing applied (the objects already running, and their budget, stay as they are).
 */
export const dhanBudgetExceededStatus = (
  feed: Pick<MarketFeed, 'metadata' | 'status'>,
  message: string,
  now: Date,
): MarketFeedStatus => withConditions(feed, [{ type: 'Degraded', status: 'True', reason: 'DhanBudgetExceeded', message }], now);

type DhanBudgetStatus = NonNullable<MarketFeedStatus['dhanBudget']>;

/** What `kubectl get mf -o yaml` shows of the feed's share of its Dhan account. */
export function dhanBudgetStatus(b: FeedBudget): DhanBudgetStatus {
  return {
    secret: b.account.slice(b.account.indexOf('/') + 1),
    connections: b.connections,
    accountConnections: b.accountConnections,
    connectionLimit: DHAN_LIMITS.connections,
    spareConnections: DHAN_LIMITS.spareConnections,
    subscriptions: b.subscriptions,
    optionContracts: b.optionContracts,
    capacity: b.connections * DHAN_LIMITS.instrumentsPerConnection,
    chainRequestMilliseconds: b.chainSlotMs,
    chainSlots: b.chainSlots,
    chainCycle: b.chainCycle,
    shards: b.shards.map((s) => ({
      index: s.shard,
      connections: s.connections.length,
      subscriptions: s.connections.reduce((n, c) => n + c.load, 0),
      carried: s.connections.reduce((n, c) => n + c.instruments.filter((i) => i.home !== s.shard).length, 0),
      chainSlots: s.chain?.slots.length ?? 0,
    })),
  };
}

export const invalidSpecStatus = (feed: Pick<MarketFeed, 'metadata' | 'status'>, message: string, now: Date): MarketFeedStatus =>
  withConditions(feed, [{ type: 'Degraded', status: 'True', reason: 'InvalidSpec', message }], now);

type ShardStatus = NonNullable<MarketFeedStatus['shardStatuses']>[number];

function shardStatuses(o: Observed): { readyShards: number; shards: ShardStatus[] } {
  const { name } = o.feed.metadata;
  const groups = shardInstruments(o.feed.spec);
  const shards: ShardStatus[] = [];
  let readyShards = 0;
  for (let i = 0; i < o.feed.spec.shards; i++) {
    const ready = COMPONENTS.every((c) => deploymentReady(o.deployments.get(deploymentName(name, c, i))));
    if (ready) readyShards++;
    const lag = o.lag?.get(i);
    const lags = lag ? { lag: lag.processor + lag.storage, processorLag: lag.processor, storageLag: lag.storage } : {};
    shards.push({ index: i, instruments: groups[i]?.length ?? 0, ready, ...lags });
  }
  for (const d of o.draining) {
    shards.push({ index: d.index, instruments: 0, ready: false, draining: true, ...(d.lag === undefined ? {} : { lag: d.lag }) });
  }
  return { readyShards, shards };
}

/** The full status after a reconcile: shards, readiness, and the four conditions. */
export function feedStatus(o: Observed): MarketFeedStatus {
  const n = o.feed.spec.shards;
  const { readyShards, shards } = shardStatuses(o);
  const conditions = [
    readyCondition(readyShards, n),
    progressingCondition(o, readyShards),
    degradedCondition(o.problems),
    marketOpenCondition(o.market),
  ];
  const present = new Set([...Array.from({ length: n }, (_, i) => i), ...o.draining.map((d) => d.index)]);
  // A feed no longer on Dhan drops the budget it had; a refused one keeps it (dhanBudgetExceededStatus).
  const { dhanBudget: _previous, ...base } = withConditions(o.feed, conditions, o.now);
  return {
    ...base,
    shards: present.size,
    readyShards,
    selector: `${LABEL_INSTANCE}=${o.feed.metadata.name}`,
    shardStatuses: shards,
    ...(o.boundary ? { nextScheduleBoundary: rfc3339(o.boundary) } : {}),
    ...(o.dhanBudget ? { dhanBudget: dhanBudgetStatus(o.dhanBudget) } : {}),
  };
}
