// HorizontalPodAutoscalers (autoscaling/v2) for processor and storage; capped at the topic's
// partitions (a consumer beyond them would idle), lowered outside market hours.
import type { MarketFeed } from '../crd/types.ts';
import { deploymentName, objectMeta } from './meta.ts';
import type { DesiredHpa } from './objects.ts';

export function hpa(
  feed: MarketFeed,
  component: 'processor' | 'storage',
  shard: number,
  marketOpen: boolean,
): DesiredHpa | undefined {
  const auto = feed.spec[component].autoscaling;
  if (!auto) return undefined;
  const maxReplicas = Math.min(auto.maxReplicas, feed.spec.kafka.partitionsPerShard);
  // Closed: down to schedule.closed.minReplicas, but an HPA cannot go below 1 without an alpha gate.
  const closedMin = Math.max(1, feed.spec.schedule?.closed.minReplicas ?? auto.minReplicas);
  const minReplicas = Math.min(marketOpen ? auto.minReplicas : Math.min(auto.minReplicas, closedMin), maxReplicas);
  const name = deploymentName(feed.metadata.name, component, shard);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: objectMeta(feed, name, component, shard),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas,
      maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: auto.targetCPUUtilization } },
        },
      ],
      behavior: auto.behavior,
    },
  };
}
