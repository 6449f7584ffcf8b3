// Kafka side of a feed: topics created and grown through the admin API, consumer lag of a shard
// (to know when a removed shard has drained), topics deleted under deletionPolicy Delete.
import type { Admin } from 'kafkajs';
import { createKafka, ensureTopics } from '../../services/core/kafka.ts';
import type { Logger } from '../../services/core/log.ts';
import { consumerGroup, enrichedTopic, feedTopicSpecs, rawTopic, type TopicSpec } from '../../services/core/topics.ts';
import type { MarketFeed } from '../crd/types.ts';

export function feedTopics(feed: MarketFeed, shards = feed.spec.shards): TopicSpec[] {
  const { namespace, name } = feed.metadata;
  const { partitionsPerShard, replicationFactor } = feed.spec.kafka;
  return feedTopicSpecs({ namespace, feed: name, partitionsPerShard, replicationFactor }, shards);
}

export function shardTopics(feed: MarketFeed, shard: number): string[] {
  const { namespace, name } = feed.metadata;
  return [rawTopic(namespace, name, shard), enrichedTopic(namespace, name, shard)];
}

export class TopicManager {
  private readonly admins = new Map<string, Promise<Admin>>();
  private readonly log: Logger;
  constructor(log: Logger) {
    this.log = log;
  }

  private admin(bootstrap: string): Promise<Admin> {
    let admin = this.admins.get(bootstrap);
    if (!admin) {
      const kafka = createKafka(bootstrap.split(','), 'stockify-operator', this.log, {
        connectionTimeout: 3_000,
        requestTimeout: 10_000,
        retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      });
      const a = kafka.admin();
      admin = a.connect().then(() => a);
      admin.catch(() => this.admins.delete(bootstrap));
      this.admins.set(bootstrap, admin);
    }
    return admin;
  }

  async ensure(feed: MarketFeed): Promise<{ created: string[]; grown: string[] }> {
    return ensureTopics(await this.admin(feed.spec.kafka.bootstrapServers), feedTopics(feed));
  }

  /** Messages the shard's processor and storage groups have not committed yet. */
  async shardLag(feed: MarketFeed, shard: number): Promise<number> {
    const lags = await this.componentLags(feed, shard);
    return lags.processor + lags.storage;
  }

  /**
   * Lag of each consumer group of the shard: processor on the raw topic, storage on the enriched
   * one. A partition the group never committed counts whole (what it would still have to read).
   */
  async componentLags(feed: MarketFeed, shard: number): Promise<{ processor: number; storage: number }> {
    const admin = await this.admin(feed.spec.kafka.bootstrapServers);
    const { namespace, name } = feed.metadata;
    const existing = new Set(await admin.listTopics());
    const lagOf = async (group: string, topic: string): Promise<number> => {
      if (!existing.has(topic)) return 0;
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      let lag = 0;
      for (const p of ends) {
        const high = Number(p.high);
        const low = Number(p.low);
        const c = byPartition.get(p.partition) ?? -1;
        lag += c < 0 ? high - low : Math.max(0, high - c);
      }
      return lag;
    };
    const [processor, storage] = await Promise.all([
      lagOf(consumerGroup('processor', namespace, name, shard), rawTopic(namespace, name, shard)),
      lagOf(consumerGroup('storage', namespace, name, shard), enrichedTopic(namespace, name, shard)),
    ]);
    return { processor, storage };
  }

  async deleteTopics(feed: MarketFeed, topics: string[]): Promise<string[]> {
    const admin = await this.admin(feed.spec.kafka.bootstrapServers);
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 10_000 });
    return present;
  }

  async close(): Promise<void> {
    const admins = [...this.admins.values()];
    this.admins.clear();
    await Promise.allSettled(admins.map(async (a) => (await a).disconnect()));
  }
}
