// ServiceAccount of the feed's pods: no API access, no token mounted.
import type { MarketFeed } from '../crd/types.ts';
import { type KubeObject, objectMeta, serviceAccountName } from './meta.ts';

export function serviceAccount(feed: MarketFeed): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: objectMeta(feed, serviceAccountName(feed.metadata.name), 'stockify'),
    automountServiceAccountToken: false,
  };
}
