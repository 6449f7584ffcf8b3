// The feed's topics, created as the operator creates them before any pod starts (auto-creation is off).
import type { MarketFeed } from '../../operator/crd/types.ts';
import { createKafka, ensureTopics } from '../core/kafka.ts';
import type { Logger } from '../core/log.ts';
import { feedTopicSpecs } from '../core/topics.ts';

export async function createTopics(feed: MarketFeed, brokers: readonly string[], log: Logger): Promise<void> {
  const { namespace, name } = feed.metadata;
  const { partitionsPerShard, replicationFactor } = feed.spec.kafka;
  const specs = feedTopicSpecs({ namespace, feed: name, partitionsPerShard, replicationFactor }, feed.spec.shards);
  // Fail fast: a local Kafka that does not answer in seconds is not there.
  const kafka = createKafka([...brokers], 'stockify-up', log, {
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { created, grown } = await ensureTopics(admin, specs);
    log.info({ created, grown }, 'topics ready');
  } finally {
    await admin.disconnect();
  }
}
