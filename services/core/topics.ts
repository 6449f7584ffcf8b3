// Kafka topic and consumer-group names of a feed, and the topics each shard needs: pure, no Kafka
// client, so that builders, `stockify render` and tests can name topics without loading kafkajs.

export type TopicComponent = 'processor' | 'storage';

export const rawTopic = (namespace: string, feed: string, shard: number): string => `market.raw.${namespace}.${feed}.${shard}`;
export const enrichedTopic = (namespace: string, feed: string, shard: number): string =>
  `market.enriched.${namespace}.${feed}.${shard}`;
export const dlqTopic = (namespace: string, feed: string): string => `market.dlq.${namespace}.${feed}`;
export const consumerGroup = (component: TopicComponent, namespace: string, feed: string, shard: number): string =>
  `stockify.${component}.${namespace}.${feed}.${shard}`;

/** The dead-letter topic of a feed has one partition: it is low volume and order across it is moot. */
export const DLQ_PARTITIONS = 1;

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
}

export interface TopicLayout {
  namespace: string;
  feed: string;
  partitionsPerShard: number;
  replicationFactor: number;
}

/** The raw and enriched topics of one shard (the stream it carries from ingestion to storage). */
function streamTopics(layout: TopicLayout, shard: number): TopicSpec[] {
  const { namespace, feed, partitionsPerShard: partitions, replicationFactor } = layout;
  return [
    { topic: rawTopic(namespace, feed, shard), partitions, replicationFactor },
    { topic: enrichedTopic(namespace, feed, shard), partitions, replicationFactor },
  ];
}

const dlqSpec = (layout: TopicLayout): TopicSpec => ({
  topic: dlqTopic(layout.namespace, layout.feed),
  partitions: DLQ_PARTITIONS,
  replicationFactor: layout.replicationFactor,
});

/** The topics one shard's processes touch: its raw and enriched topics and the feed's DLQ. */
export function shardTopicSpecs(layout: TopicLayout, shard: number): TopicSpec[] {
  return [...streamTopics(layout, shard), dlqSpec(layout)];
}

/** Every topic of a feed with `shards` shards (the DLQ once). */
export function feedTopicSpecs(layout: TopicLayout, shards: number): TopicSpec[] {
  return [dlqSpec(layout), ...Array.from({ length: shards }, (_, i) => streamTopics(layout, i)).flat()];
}
