// Service <feed>-grpc: MarketData on every storage pod of the feed.
import type { MarketFeed } from '../crd/types.ts';
import { GRPC_PORT, grpcServiceName, LABEL_INSTANCE, LABEL_NAME, objectMeta } from './meta.ts';
import type { DesiredService } from './objects.ts';

export function grpcService(feed: MarketFeed): DesiredService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(feed, grpcServiceName(feed.metadata.name), 'grpc'),
    spec: {
      type: 'ClusterIP',
      selector: { [LABEL_NAME]: 'storage', [LABEL_INSTANCE]: feed.metadata.name },
      ports: [{ name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' }],
    },
  };
}
