// PodDisruptionBudgets: a voluntary disruption (node drain) takes at most one consumer of a shard
// at a time. Ingestion is a single pod by design, so a budget would only block drains.
import type { MarketFeed } from '../crd/types.ts';
import { deploymentName, objectMeta, selectorLabels } from './meta.ts';
import type { DesiredPdb } from './objects.ts';

export function pdb(feed: MarketFeed, component: 'processor' | 'storage', shard: number): DesiredPdb {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(feed, deploymentName(feed.metadata.name, component, shard), component, shard),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(feed, component, shard) } },
  };
}
