// ServiceAccount of the feed's pods: no API access, no token mounted.
import type { MarketFeed } from '../crd/types.ts';
import { objectMeta, serviceAccountName } from './meta.ts';
import type { DesiredServiceAccount } from './objects.ts';

export function serviceAccount(feed: MarketFeed): DesiredServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: objectMeta(feed, serviceAccountName(feed.metadata.name), 'stockify'),
    automountServiceAccountToken: false,
  };
}
