// The processor's Kafka path with no work per record: its consumer settings, its commit pipeline
// and its producer, passing each raw record on unchanged. The reference beside the processor in
// the consumer bench, and the middle hop of the end-to-end bench's null pipeline.
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../../../services/core/log.ts';
import { CommitPipeline } from '../../../services/processor/commit-pipeline.ts';
import { PROCESSOR_PRODUCER, processorConsumer, processorRun } from '../../../services/processor/consumer.ts';
import { kafkaPort, type ShardTopics } from '../../../services/processor/kafka-port.ts';

export interface NullRelay {
  /** Resolves once the consumer joined its group. */
  ready: Promise<void>;
  /** Records handed to the pipeline so far. */
  relayed(): number;
  /** Stops fetching and waits until every relayed record is acknowledged and committed. */
  drain(): Promise<void>;
  /** Drains, then leaves the group. */
  stop(): Promise<void>;
}

export async function startNullRelay(
  kafka: Kafka,
  topics: ShardTopics,
  groupId: string,
  partitions: number,
  log: Logger,
): Promise<NullRelay> {
  const consumer = kafka.consumer(processorConsumer(groupId));
  const producer = kafka.producer(PROCESSOR_PRODUCER);
  const pipeline = new CommitPipeline(
    kafkaPort({ consumer, producer }, topics, {
      dropState: () => undefined,
      rewound: (partition, _resume, err) => log.error({ err, partition }, 'null relay rewound'),
      acknowledged: () => undefined,
    }),
  );
  let relayed = 0;
  let joined: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    joined = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    pipeline.joined(e.payload.memberAssignment[topics.source] ?? []);
    joined();
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: topics.source, fromBeginning: true });
  await consumer.run({
    ...processorRun(partitions),
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      if (pipeline.isStopping || !isRunning() || isStale()) return;
      const first = batch.messages[0];
      const last = batch.messages.at(-1);
      if (first === undefined || last === undefined) return;
      pipeline.fetched(batch.partition, Number(first.offset));
      const lastOffset = Number(last.offset);
      resolveOffset(last.offset);
      relayed += batch.messages.length;
      await pipeline.enqueue(
        {
          partition: batch.partition,
          lastOffset,
          oldestHeld: undefined,
          lag: Math.max(0, Number(batch.highWatermark) - (lastOffset + 1)),
          output: { enriched: batch.messages.map((m) => ({ key: m.key, value: m.value })), dead: [] },
        },
        heartbeat,
      );
    },
  });
  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drained ??= (async () => {
      consumer.pause([{ topic: topics.source }]);
      await pipeline.drain();
    })();
    return drained;
  };
  return {
    ready,
    relayed: () => relayed,
    drain,
    async stop() {
      await drain();
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
