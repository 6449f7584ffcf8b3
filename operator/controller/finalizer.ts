// The finalizer of deletionPolicy Delete: while it is on the feed, deleting the feed first deletes
// its Kafka topics (the API server cannot garbage-collect those), then lets the feed go.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { dlqTopic } from '../../services/core/topics.ts';
import { GROUP, PLURAL, VERSION } from '../crd/schema.ts';
import type { MarketFeed } from '../crd/types.ts';
import { parseSpec } from '../crd/validate.ts';
import type { ReconcilerDeps } from './deps.ts';
import { describeError, type Kube } from './kube.ts';
import { existingShards } from './owned.ts';
import type { ReconcileResult } from './result.ts';
import { shardTopics } from './topics.ts';

export const FINALIZER = 'stockify.io/kafka-topics';

const hasFinalizer = (feed: MarketFeed): boolean => (feed.metadata.finalizers ?? []).includes(FINALIZER);

/** Adds or removes the finalizer; no request when it is already as wanted. */
export async function syncFinalizer(kube: Kube, feed: MarketFeed, want: boolean): Promise<void> {
  const finalizers = feed.metadata.finalizers ?? [];
  if (want === hasFinalizer(feed)) return;
  const next = want ? [...finalizers, FINALIZER] : finalizers.filter((f) => f !== FINALIZER);
  const { namespace, name, resourceVersion } = feed.metadata;
  await kube.custom.patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
      body: { metadata: { finalizers: next, resourceVersion } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Every topic the feed may have: the DLQ and those of every shard it has or had. */
function topicsToDelete(d: Pick<ReconcilerDeps, 'owned'>, feed: MarketFeed): string[] {
  const shards = Math.max(feed.spec.shards, ...[...existingShards(d.owned, feed)].map((s) => s + 1));
  const topics = [dlqTopic(feed.metadata.namespace, feed.metadata.name)];
  for (let i = 0; i < shards; i++) topics.push(...shardTopics(feed, i));
  return topics;
}

/** A feed being deleted: remove its topics, then the finalizer; retry while Kafka fails. */
export async function finalize(
  d: Pick<ReconcilerDeps, 'kube' | 'owned' | 'topics' | 'events' | 'log'>,
  raw: MarketFeed,
): Promise<ReconcileResult> {
  if (!hasFinalizer(raw)) return {};
  let feed = raw;
  try {
    feed = { ...raw, spec: parseSpec(raw.spec) };
  } catch {
    // A spec made invalid after creation still names its topics: delete with what it says.
  }
  try {
    const deleted = await d.topics.deleteTopics(feed, topicsToDelete(d, feed));
    d.log.info({ feed: `${feed.metadata.namespace}/${feed.metadata.name}`, deleted }, 'deleted Kafka topics');
  } catch (err) {
    const message = `Kafka ${feed.spec.kafka.bootstrapServers}: ${describeError(err)}`;
    await d.events.record(feed, 'Warning', 'TopicDeletionFailed', message);
    return { retry: true };
  }
  await syncFinalizer(d.kube, raw, false);
  return {};
}
