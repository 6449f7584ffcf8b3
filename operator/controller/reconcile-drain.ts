// Removed shards: stop ingestion, wait until the shard's consumers have caught up (lag 0), then
// delete its objects (and its topics under deletionPolicy Delete). One step per reconcile: the
// reconcile requeues itself to look again, it never waits here.
import { PatchStrategy } from '@kubernetes/client-node';
import type { MarketFeed } from '../crd/types.ts';
import { deploymentName } from '../desired/index.ts';
import type { ReconcilerDeps } from './deps.ts';
import { describeError, statusOf } from './kube.ts';
import { existingShards, liveOf, ofFeed } from './owned.ts';
import type { Problem } from './problems.ts';
import type { DrainingShard } from './status.ts';
import { shardTopics } from './topics.ts';

/** Its own field manager, so scaling ingestion to zero does not fight the applied replicas. */
const DRAIN_MANAGER = 'stockify-operator-drain';

type Deps = Pick<ReconcilerDeps, 'kube' | 'owned' | 'topics' | 'events'>;

/** Where one removed shard stands after this reconcile: still draining (or gone), and what failed. */
interface ShardStep {
  draining?: DrainingShard;
  problem?: Problem;
}

async function stopIngestion(d: Deps, feed: MarketFeed, shard: number): Promise<ShardStep> {
  const { name, namespace } = feed.metadata;
  try {
    await d.kube.objects.patch(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: deploymentName(name, 'ingestion', shard), namespace },
        spec: { replicas: 0 },
      },
      undefined,
      undefined,
      DRAIN_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    );
    const message = `shard ${shard} removed: ingestion stopped, waiting for its consumers to catch up`;
    await d.events.record(feed, 'Normal', 'ShardDraining', message);
    return { draining: { index: shard } };
  } catch (err) {
    return { draining: { index: shard }, problem: { reason: 'DrainFailed', message: `shard ${shard}: ${describeError(err)}` } };
  }
}

/** Deletes every owned object of the shard; one already gone is fine. */
async function deleteShardObjects(d: Deps, feed: MarketFeed, shard: number): Promise<void> {
  for (const [kind, watcher] of d.owned) {
    for (const o of watcher.list(feed.metadata.namespace)) {
      if (!ofFeed(o, feed, shard)) continue;
      const ref = {
        apiVersion: watcher.kind.apiVersion,
        kind,
        metadata: { name: o.metadata?.name ?? '', namespace: feed.metadata.namespace },
      };
      try {
        await d.kube.objects.delete(ref, undefined, undefined, undefined, undefined, 'Background');
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
  }
}

async function removeShard(d: Deps, feed: MarketFeed, shard: number): Promise<ShardStep> {
  try {
    await deleteShardObjects(d, feed, shard);
    let note = '';
    if (feed.spec.kafka.deletionPolicy === 'Delete') {
      const gone = await d.topics.deleteTopics(feed, shardTopics(feed, shard));
      note = gone.length > 0 ? `; deleted topics ${gone.join(', ')}` : '';
    }
    await d.events.record(feed, 'Normal', 'ShardRemoved', `shard ${shard} drained (lag 0) and removed${note}`);
    return {};
  } catch (err) {
    const problem: Problem = { reason: 'DrainFailed', message: `removing shard ${shard}: ${describeError(err)}` };
    return { draining: { index: shard, lag: 0 }, problem };
  }
}

async function drainShard(d: Deps, feed: MarketFeed, shard: number): Promise<ShardStep> {
  const ingestion = liveOf(
    d.owned,
    'Deployment',
    deploymentName(feed.metadata.name, 'ingestion', shard),
    feed.metadata.namespace,
  );
  if (ingestion && (ingestion.spec?.replicas ?? 1) > 0) return stopIngestion(d, feed, shard);
  // Scaled to zero but pods still running: they may still be producing.
  if (ingestion && (ingestion.status?.replicas ?? 0) > 0) return { draining: { index: shard } };
  let lag: number;
  try {
    lag = await d.topics.shardLag(feed, shard);
  } catch (err) {
    const problem: Problem = { reason: 'KafkaUnreachable', message: `lag of shard ${shard}: ${describeError(err)}` };
    return { draining: { index: shard }, problem };
  }
  if (lag > 0) return { draining: { index: shard, lag } };
  return removeShard(d, feed, shard);
}

/** Moves every removed shard one step on; returns those still draining and what failed. */
export async function drainRemovedShards(d: Deps, feed: MarketFeed): Promise<{ draining: DrainingShard[]; problems: Problem[] }> {
  const removed = [...existingShards(d.owned, feed)].filter((s) => s >= feed.spec.shards).sort((a, b) => a - b);
  const draining: DrainingShard[] = [];
  const problems: Problem[] = [];
  for (const shard of removed) {
    const step = await drainShard(d, feed, shard);
    if (step.draining) draining.push(step.draining);
    if (step.problem) problems.push(step.problem);
  }
  return { draining, problems };
}
