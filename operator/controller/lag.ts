// Consumer lag of a feed's processor and storage groups, measured through the Kafka admin API on
// each reconcile of a feed that scales on lag: it sets the HPA floors (desired/hpa.ts) and shows in
// status.shardStatuses. Unmeasurable lag (Kafka unreachable) is no lag at all: the floors fall back
// to the configured minReplicas and the HPA scales on CPU alone.
import type { MarketFeed } from '../crd/types.ts';
import { deploymentName } from '../desired/index.ts';
import type { ReconcilerDeps } from './deps.ts';
import { describeError } from './kube.ts';

/** How often a feed that scales on lag is looked at again. */
export const DEFAULT_LAG_CHECK_MS = 15_000;

export interface ShardLag {
  processor: number;
  storage: number;
}

export interface FeedLag {
  /** By Deployment name (<feed>-processor-<i>, <feed>-storage-<i>), what BuildOptions.lag takes. */
  byDeployment: Map<string, number>;
  byShard: Map<number, ShardLag>;
}

/** Whether any autoscaled component of the feed follows lag. */
export const scalesOnLag = (feed: MarketFeed): boolean =>
  (['processor', 'storage'] as const).some((c) => (feed.spec[c].autoscaling?.lagPerReplica ?? 0) > 0);

/**
 * The lag status.shardStatuses shows when this reconcile could not measure it: the last measured
 * (so a transient Kafka error does not flap the status, and so make a write), none once a feed no
 * longer scales on lag.
 */
export function lastLag(feed: MarketFeed): Map<number, ShardLag> | undefined {
  if (!scalesOnLag(feed)) return undefined;
  const out = new Map<number, ShardLag>();
  for (const s of feed.status?.shardStatuses ?? []) {
    if (s.draining || s.processorLag === undefined || s.storageLag === undefined) continue;
    out.set(s.index, { processor: s.processorLag, storage: s.storageLag });
  }
  return out.size > 0 ? out : undefined;
}

/** The lag of every shard, or undefined when it cannot be measured (logged; the caller falls back). */
export async function measureLag(d: Pick<ReconcilerDeps, 'topics' | 'log'>, feed: MarketFeed): Promise<FeedLag | undefined> {
  if (!scalesOnLag(feed)) return undefined;
  try {
    const shards = Array.from({ length: feed.spec.shards }, (_, i) => i);
    const lags = await d.topics.componentLags(feed, shards);
    const out: FeedLag = { byDeployment: new Map(), byShard: new Map() };
    for (const i of shards) {
      const lag = lags.get(i) ?? { processor: 0, storage: 0 };
      out.byShard.set(i, lag);
      out.byDeployment.set(deploymentName(feed.metadata.name, 'processor', i), lag.processor);
      out.byDeployment.set(deploymentName(feed.metadata.name, 'storage', i), lag.storage);
    }
    return out;
  } catch (err) {
    const { namespace, name } = feed.metadata;
    d.log.warn(
      { feed: `${namespace}/${name}`, err: describeError(err) },
      'consumer lag unavailable; HPA floors fall back to minReplicas',
    );
    return undefined;
  }
}
