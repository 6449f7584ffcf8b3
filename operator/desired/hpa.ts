// HorizontalPodAutoscalers (autoscaling/v2) for processor and storage; capped at the topic's
// partitions (a consumer beyond them would idle), lowered outside market hours.
import type { MarketFeed } from '../crd/types.ts';
import { deploymentName, objectMeta } from './meta.ts';
import type { DesiredHpa } from './objects.ts';

/**
 * Replicas the consumer lag asks for: ceil(lag / lagPerReplica), within [floor, maxReplicas]. No
 * measurement (Kafka unreachable) or lagPerReplica 0 leaves the floor as configured: CPU alone.
 */
export function replicasForLag(lag: number | undefined, lagPerReplica: number, floor: number, maxReplicas: number): number {
  if (lag === undefined || lagPerReplica <= 0) return floor;
  return Math.min(maxReplicas, Math.max(floor, Math.ceil(lag / lagPerReplica)));
}

/**
 * The HPA of one component of one shard. `lag` is the consumer group's lag when measured: the
 * operator raises minReplicas to what it asks for (never above the partitions), and the HPA
 * scales further on CPU. Why a floor and not an external metric: see the README (Day-2 operations).
 */
export function hpa(
  feed: MarketFeed,
  component: 'processor' | 'storage',
  shard: number,
  marketOpen: boolean,
  lag?: number,
): DesiredHpa | undefined {
  const auto = feed.spec[component].autoscaling;
  if (!auto) return undefined;
  const maxReplicas = Math.min(auto.maxReplicas, feed.spec.kafka.partitionsPerShard);
  // Closed: down to schedule.closed.minReplicas, but an HPA cannot go below 1 without an alpha gate.
  const closedMin = Math.max(1, feed.spec.schedule?.closed.minReplicas ?? auto.minReplicas);
  const configured = Math.min(marketOpen ? auto.minReplicas : Math.min(auto.minReplicas, closedMin), maxReplicas);
  // A backlog is worked off even when the market is closed (the lag is what is left of the day).
  const minReplicas = replicasForLag(lag, auto.lagPerReplica, configured, maxReplicas);
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
