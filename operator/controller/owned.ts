// The objects a feed owns, as the informer caches see them.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MarketFeed } from '../crd/types.ts';
import { LABEL_INSTANCE, LABEL_SHARD } from '../desired/index.ts';
import type { Watcher } from './informers.ts';
import type { ObservedDeployment } from './status.ts';

/** A cached object with the fields the reconciler reads. */
export type Live = KubernetesObject & ObservedDeployment & { status?: { replicas?: number } };

/** Whether the feed with this uid is the object's controller. */
export function ownedBy(obj: KubernetesObject, uid: string | undefined): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);
}

export function liveOf(owned: ReadonlyMap<string, Watcher>, kind: string, name: string, namespace: string): Live | undefined {
  return owned.get(kind)?.get(name, namespace);
}

/** Whether the object is one of this feed's, of shard `shard` when given. */
export function ofFeed(obj: KubernetesObject, feed: MarketFeed, shard?: number): boolean {
  const labels = obj.metadata?.labels ?? {};
  if (labels[LABEL_INSTANCE] !== feed.metadata.name || !ownedBy(obj, feed.metadata.uid)) return false;
  return shard === undefined || labels[LABEL_SHARD] === String(shard);
}

/** Shards present in the cluster for this feed (from owned Deployments and ConfigMaps). */
export function existingShards(owned: ReadonlyMap<string, Watcher>, feed: MarketFeed): Set<number> {
  const shards = new Set<number>();
  for (const kind of ['Deployment', 'ConfigMap']) {
    for (const o of owned.get(kind)?.list(feed.metadata.namespace) ?? []) {
      const shard = o.metadata?.labels?.[LABEL_SHARD];
      if (shard !== undefined && ofFeed(o, feed)) shards.add(Number(shard));
    }
  }
  return shards;
}

/** The Deployments of the feed's namespace by name, for the status. */
export function deploymentsOf(owned: ReadonlyMap<string, Watcher>, namespace: string): Map<string, Live> {
  const out = new Map<string, Live>();
  for (const d of owned.get('Deployment')?.list(namespace) ?? []) out.set(d.metadata?.name ?? '', d);
  return out;
}
