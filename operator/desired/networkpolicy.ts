// NetworkPolicy <feed>-stockify: the feed's pods accept connections only on gRPC (MarketData,
// health) and metrics; they talk out freely (Kafka, PostgreSQL, Redis, Dhan).
import type { MarketFeed } from '../crd/types.ts';
import { GRPC_PORT, LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY, METRICS_PORT, objectMeta } from './meta.ts';
import type { DesiredNetworkPolicy } from './objects.ts';

export function networkPolicy(feed: MarketFeed): DesiredNetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(feed, `${feed.metadata.name}-stockify`, 'stockify'),
    spec: {
      podSelector: { matchLabels: { [LABEL_INSTANCE]: feed.metadata.name, [LABEL_MANAGED_BY]: MANAGED_BY } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          ports: [
            { protocol: 'TCP', port: GRPC_PORT },
            { protocol: 'TCP', port: METRICS_PORT },
          ],
        },
      ],
    },
  };
}
