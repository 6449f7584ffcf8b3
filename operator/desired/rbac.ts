// Role and RoleBinding <feed>-stockify-gaps (Dhan feeds only): the one thing the feed's pods may do
// with the API — an ingestion pod that finds a gap behind it (a crash's reconnect window) records
// a Warning Event on the MarketFeed. Nothing else: no reads, no other kinds.
import type { MarketFeed } from '../crd/types.ts';
import { objectMeta, serviceAccountName } from './meta.ts';
import type { DesiredRole, DesiredRoleBinding } from './objects.ts';

export const gapEventsRoleName = (feed: string): string => `${feed}-stockify-gaps`;

export function gapEventsRbac(feed: MarketFeed): [DesiredRole, DesiredRoleBinding] {
  const name = gapEventsRoleName(feed.metadata.name);
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: objectMeta(feed, name, 'stockify'),
      rules: [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: objectMeta(feed, name, 'stockify'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccountName(feed.metadata.name), namespace: feed.metadata.namespace }],
    },
  ];
}
