// The Events a status change deserves: pure, so the same before/after always tells the same story
// (and an unchanged status tells none).
import type { MarketFeed, MarketFeedStatus } from '../crd/types.ts';
import { conditionOf } from './conditions.ts';
import type { EventSpec } from './events.ts';
import { isProblemReason } from './problems.ts';

function degradedEvents(before: MarketFeedStatus | undefined, after: MarketFeedStatus): EventSpec[] {
  const was = conditionOf(before, 'Degraded');
  const now = conditionOf(after, 'Degraded');
  const out: EventSpec[] = [];
  const newProblem = now?.status === 'True' && (was?.status !== 'True' || was.reason !== now.reason);
  if (newProblem && isProblemReason(now.reason)) out.push({ type: 'Warning', reason: now.reason, message: now.message });
  if (was?.status === 'True' && now?.status === 'False') {
    out.push({ type: 'Normal', reason: 'Recovered', message: 'no problems found any more' });
  }
  return out;
}

function marketEvents(before: MarketFeedStatus | undefined, after: MarketFeedStatus): EventSpec[] {
  const market = conditionOf(after, 'MarketOpen');
  const previous = conditionOf(before, 'MarketOpen');
  if (!market || !previous || market.status === previous.status || market.status === 'Unknown') return [];
  return [{ type: 'Normal', reason: market.status === 'True' ? 'MarketOpened' : 'MarketClosed', message: market.message }];
}

/** The first reconcile of a new shard count: the generation moved and the shard count differs. */
function reshardEvents(feed: MarketFeed, before: MarketFeedStatus | undefined, after: MarketFeedStatus): EventSpec[] {
  if (before?.shards === undefined || before.shards === feed.spec.shards) return [];
  if (before.observedGeneration === after.observedGeneration) return [];
  return [{ type: 'Normal', reason: 'Resharded', message: `resharding ${before.shards} → ${feed.spec.shards} shards` }];
}

export function transitionEvents(feed: MarketFeed, before: MarketFeedStatus | undefined, after: MarketFeedStatus): EventSpec[] {
  return [...degradedEvents(before, after), ...marketEvents(before, after), ...reshardEvents(feed, before, after)];
}
