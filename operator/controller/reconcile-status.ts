// Publishing a reconcile's outcome: the status subresource, written only when it changed, and the
// Events of the transitions it makes.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../crd/schema.ts';
import type { MarketFeed, MarketFeedStatus } from '../crd/types.ts';
import { canonicalJson } from '../desired/meta.ts';
import type { ReconcilerDeps } from './deps.ts';
import { transitionEvents } from './transitions.ts';

/** Merge-patches the status; no request when it is unchanged (the steady state makes no write). */
export async function writeStatus(d: Pick<ReconcilerDeps, 'kube'>, feed: MarketFeed, status: MarketFeedStatus): Promise<void> {
  if (canonicalJson(feed.status ?? {}) === canonicalJson(status)) return;
  const body: Record<string, unknown> = { ...status };
  for (const k of Object.keys(feed.status ?? {})) if (!(k in body)) body[k] = null; // merge patch removes with null
  const { namespace, name } = feed.metadata;
  await d.kube.custom.patchNamespacedCustomObjectStatus(
    { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status: body } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Writes the status, then records what changed from the one read. */
export async function publishStatus(
  d: Pick<ReconcilerDeps, 'kube' | 'events'>,
  feed: MarketFeed,
  status: MarketFeedStatus,
): Promise<void> {
  const before = feed.status;
  await writeStatus(d, feed, status);
  for (const e of transitionEvents(feed, before, status)) await d.events.record(feed, e.type, e.reason, e.message);
}
