// Names, labels, annotations and the owner reference shared by every object of a feed.
import { createHash } from 'node:crypto';
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { Component } from '../../services/core/names.ts';
import { API_VERSION, KIND } from '../crd/schema.ts';
import type { MarketFeed } from '../crd/types.ts';
import type { DesiredMeta } from './objects.ts';

export const FIELD_MANAGER = 'stockify-operator';
export const MANAGED_BY = 'stockify-operator';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_SHARD = 'stockify.io/shard';
export const ANNOTATION_CONFIG_HASH = 'stockify.io/config-hash';
export const ANNOTATION_APPLIED_HASH = 'stockify.io/applied-hash';
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;

// Re-exported for the operator's callers; the list itself lives in core/names.ts.
export { COMPONENTS, type Component } from '../../services/core/names.ts';

export const GRPC_PORT = 50051;
export const METRICS_PORT = 9464;
export const SHARD_FILE_DIR = '/etc/stockify';
export const SHARD_FILE_KEY = 'shard.json';
export const DEFAULT_IMAGE = 'stockify:dev';

export const deploymentName = (feed: string, component: Component, shard: number): string => `${feed}-${component}-${shard}`;
export const configMapName = (feed: string, shard: number): string => `${feed}-shard-${shard}`;
export const grpcServiceName = (feed: string): string => `${feed}-grpc`;
export const serviceAccountName = (feed: string): string => `${feed}-stockify`;

export type { DesiredMeta, DesiredObject, KubeObject } from './objects.ts';

export function labels(feed: MarketFeed, name: string, shard?: number): Record<string, string> {
  return {
    [LABEL_NAME]: name,
    [LABEL_INSTANCE]: feed.metadata.name,
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_PART_OF]: 'stockify',
    ...(shard === undefined ? {} : { [LABEL_SHARD]: String(shard) }),
  };
}

/** Labels that select the pods of one component of one shard (immutable once created). */
export function selectorLabels(feed: MarketFeed, component: Component, shard: number): Record<string, string> {
  return { [LABEL_NAME]: component, [LABEL_INSTANCE]: feed.metadata.name, [LABEL_SHARD]: String(shard) };
}

export function ownerReferences(feed: MarketFeed): V1OwnerReference[] | undefined {
  const uid = feed.metadata.uid;
  if (!uid) return undefined; // render without a cluster: nothing to point at
  return [{ apiVersion: API_VERSION, kind: KIND, name: feed.metadata.name, uid, controller: true, blockOwnerDeletion: true }];
}

export function objectMeta(feed: MarketFeed, name: string, component: string, shard?: number): DesiredMeta {
  const owners = ownerReferences(feed);
  return {
    name,
    namespace: feed.metadata.namespace,
    labels: labels(feed, component, shard),
    ...(owners ? { ownerReferences: owners } : {}),
  };
}

/** JSON with object keys sorted, so equal values always hash alike. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}
