// Kafka side of a feed: topics created and grown through the admin API, consumer lag of a shard
// (to know when a removed shard has drained), topics deleted under deletionPolicy Delete.
import type { Admin } from 'kafkajs';
import { partitionLag } from '../../services/core/commit-metadata.ts';
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

/**
 * Which of `topics` exist. Usually all do, and their own metadata says so; only when one is missing
 * is the cluster's whole topic list fetched — on a shared Kafka thousands of topics, which every
 * reconcile of every feed used to fetch and parse.
 */
async function existingOf(admin: Admin, topics: readonly string[]): Promise<Set<string>> {
  try {
    const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
    return new Set(found.map((t) => t.name));
  } catch (err) {
    if ((err as { type?: unknown }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    const all = new Set(await admin.listTopics());
    return new Set(topics.filter((t) => all.has(t)));
  }
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

  /** Messages the shard's processor and storage groups have still to work off. */
  async shardLag(feed: MarketFeed, shard: number): Promise<number> {
    const lags = await this.componentLags(feed, [shard]);
    const lag = lags.get(shard);
    return (lag?.processor ?? 0) + (lag?.storage ?? 0);
  }

  /**
   * Lag of each consumer group of the given shards: processor on the raw topic, storage on the
   * enriched one, per partition from the later of the committed offset and the processed offset the
   * commit's metadata carries (the processor's committed offset is its replay point, held back by
   * open bars: services/core/commit-metadata.ts). A partition the group never committed counts
   * whole. One topic listing for all shards; the per-topic requests go out together.
   */
  async componentLags(feed: MarketFeed, shards: readonly number[]): Promise<Map<number, { processor: number; storage: number }>> {
    const admin = await this.admin(feed.spec.kafka.bootstrapServers);
    const { namespace, name } = feed.metadata;
    const existing = await existingOf(
      admin,
      shards.flatMap((shard) => [rawTopic(namespace, name, shard), enrichedTopic(namespace, name, shard)]),
    );
    const lagOf = async (group: string, topic: string): Promise<number> => {
      if (!existing.has(topic)) return 0;
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: group, topics: [topic] }),
      ]);
      const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p]));
      let lag = 0;
      for (const p of ends) {
        const c = byPartition.get(p.partition);
        lag += partitionLag({
          high: Number(p.high),
          low: Number(p.low),
          committed: c === undefined ? -1 : Number(c.offset),
          metadata: c?.metadata,
        });
      }
      return lag;
    };
    const lags = await Promise.all(
      shards.map(async (shard) => {
        const [processor, storage] = await Promise.all([
          lagOf(consumerGroup('processor', namespace, name, shard), rawTopic(namespace, name, shard)),
          lagOf(consumerGroup('storage', namespace, name, shard), enrichedTopic(namespace, name, shard)),
        ]);
        return [shard, { processor, storage }] as const;
      }),
    );
    return new Map(lags);
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
