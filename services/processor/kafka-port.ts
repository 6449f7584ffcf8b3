// The commit pipeline's port onto Kafka: a batch's records go out in produce requests acknowledged
// by every replica, offsets are committed and partitions rewound on the shard's consumer.
import { CompressionTypes, type Consumer, type Message, type Producer } from 'kafkajs';
import { processedMetadata } from '../core/commit-metadata.ts';
import { fatal } from '../core/lifecycle.ts';
import type { PipelinePort } from './commit-pipeline.ts';

/**
 * Largest number of records in one produce request. kafkajs groups a request's records by partition
 * in time quadratic in their number (2,000 cost more CPU than the round trips 500 add).
 */
export const SEND_CHUNK = 500;

export interface BatchMessages {
  enriched: Message[];
  dead: Message[];
}

/** Sends one batch's records, enriched ones first: one produce request per SEND_CHUNK records. */
export async function sendInChunks(
  producer: Producer,
  topics: { enriched: string; dlq: string },
  { enriched, dead }: BatchMessages,
): Promise<void> {
  for (let i = 0; i < enriched.length + dead.length; i += SEND_CHUNK) {
    const topicMessages = [];
    const e = enriched.slice(i, i + SEND_CHUNK);
    if (e.length > 0) topicMessages.push({ topic: topics.enriched, messages: e });
    const d = dead.slice(Math.max(0, i - enriched.length), Math.max(0, i + SEND_CHUNK - enriched.length));
    if (d.length > 0) topicMessages.push({ topic: topics.dlq, messages: d });
    await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages });
  }
}

export interface ShardTopics {
  /** The raw topic the shard consumes. */
  source: string;
  enriched: string;
  dlq: string;
}

/** The pipeline's port: Kafka for sending, committing and seeking; `state` for the rest. */
export function kafkaPort(
  clients: { consumer: Consumer; producer: Producer },
  topics: ShardTopics,
  state: Pick<PipelinePort<BatchMessages>, 'dropState' | 'rewound' | 'acknowledged'>,
): PipelinePort<BatchMessages> {
  const { consumer, producer } = clients;
  return {
    send: (output) => sendInChunks(producer, topics, output),
    commit: async (partition, offset, processed) => {
      const metadata = processedMetadata(processed);
      await consumer.commitOffsets([{ topic: topics.source, partition, offset: String(offset), metadata }]);
    },
    seek: (partition, offset) => {
      try {
        consumer.seek({ topic: topics.source, partition, offset: String(offset) });
      } catch (err) {
        // A partition that cannot be rewound would skip records: better no processor than that.
        fatal('processor', new Error(`rewinding ${topics.source}[${partition}] to offset ${offset}: ${(err as Error).message}`));
      }
    },
    dropState: (partition) => state.dropState(partition),
    rewound: (partition, resume, err) => state.rewound(partition, resume, err),
    acknowledged: (partition, lag) => state.acknowledged(partition, lag),
  };
}
