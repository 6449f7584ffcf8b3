// The feed's Kafka topics during a reconcile: ensured once per topic layout, so a resync does not
// call Kafka again when nothing about the topics changed.
import type { MarketFeed } from '../crd/types.ts';
import type { ReconcilerDeps } from './deps.ts';
import { describeError } from './kube.ts';
import type { Problem } from './problems.ts';

const uidOf = (feed: MarketFeed): string => feed.metadata.uid ?? `${feed.metadata.namespace}/${feed.metadata.name}`;

export class FeedTopics {
  private readonly d: Pick<ReconcilerDeps, 'topics' | 'events'>;
  /** Feed uid → the topic layout already ensured. */
  private readonly ensured = new Map<string, string>();

  constructor(deps: Pick<ReconcilerDeps, 'topics' | 'events'>) {
    this.d = deps;
  }

  /** Creates missing topics and grows short ones; an unreachable Kafka is a problem, not an error. */
  async ensure(feed: MarketFeed): Promise<Problem[]> {
    const k = feed.spec.kafka;
    const layout = `${k.bootstrapServers}|${feed.spec.shards}|${k.partitionsPerShard}|${k.replicationFactor}`;
    if (this.ensured.get(uidOf(feed)) === layout) return [];
    try {
      const { created, grown } = await this.d.topics.ensure(feed);
      this.ensured.set(uidOf(feed), layout);
      const parts = [created.length ? `created ${created.join(', ')}` : '', grown.length ? `grew ${grown.join(', ')}` : ''];
      const changes = parts.filter(Boolean);
      if (changes.length > 0) await this.d.events.record(feed, 'Normal', 'TopicsReady', `Kafka topics: ${changes.join('; ')}`);
      return [];
    } catch (err) {
      return [{ reason: 'KafkaUnreachable', message: `Kafka ${k.bootstrapServers}: ${describeError(err)}` }];
    }
  }

  /** Forgets a deleted feed (a feed re-created under the same name gets a new uid anyway). */
  forget(feed: MarketFeed): void {
    this.ensured.delete(uidOf(feed));
  }
}
