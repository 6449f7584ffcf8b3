// The processor's Kafka loop: consumes market.raw.<ns>.<feed>.<i> in the shard's consumer group,
// writes enriched records to market.enriched.<ns>.<feed>.<i> and refused ones to
// market.dlq.<ns>.<feed>. Every partition of the shard is consumed concurrently; when each batch
// is sent and committed is the commit pipeline's business (commit-pipeline.ts).
import type { Consumer, ConsumerConfig, ConsumerRunConfig, EachBatchPayload, Kafka, Producer, ProducerConfig } from 'kafkajs';
import type { Registry } from 'prom-client';
import { createKafka, ensureTopics } from '../core/kafka.ts';
import { type Logger, RateLimitedLog } from '../core/log.ts';
import type { ShardStatus } from '../core/messages.ts';
import { createRegistry } from '../core/metrics.ts';
import type { ShardActivity } from '../core/shard-process.ts';
import type { ShardFile } from '../core/shardfile.ts';
import { consumerGroup, dlqTopic, enrichedTopic, rawTopic, shardTopicSpecs } from '../core/topics.ts';
import type { BarOptions } from './bars.ts';
import { type BatchOutput, processBatch, type RecordObserver } from './batch-output.ts';
import { CommitPipeline } from './commit-pipeline.ts';
import { type BatchMessages, kafkaPort, type ShardTopics } from './kafka-port.ts';
import { type ProcessorMetrics, processorMetrics } from './metrics.ts';
import { RecordProcessor } from './records.ts';
import { ProcessorStatus } from './status.ts';

export interface ProcessorConsumerOptions {
  kafka: Kafka;
  namespace: string;
  feed: string;
  shardIndex: number;
  shard: ShardFile;
  log: Logger;
  metrics: ProcessorMetrics;
  barOptions?: Partial<BarOptions>;
}

/** The processor's producer: idempotent, one request in flight (the order the pipeline relies on). */
export const PROCESSOR_PRODUCER: ProducerConfig = { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false };

export const processorConsumer = (groupId: string): ConsumerConfig => ({ groupId, allowAutoTopicCreation: false });

/**
 * How the processor consumes: offsets committed by the pipeline once the output is acknowledged.
 * Partitions are independent (bar state is per partition, records are processed whole between
 * awaits), so every partition of the shard is consumed at once.
 */
export const processorRun = (partitions: number): Omit<ConsumerRunConfig, 'eachBatch' | 'eachMessage'> => ({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: partitions,
});

export class ProcessorConsumer {
  private readonly o: ProcessorConsumerOptions;
  private readonly topics: ShardTopics;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly processor: RecordProcessor;
  private readonly pipeline: CommitPipeline<BatchMessages>;
  private readonly status = new ProcessorStatus();
  private readonly observer: RecordObserver;
  private joined = false;
  private resolveReady: () => void = () => {};
  private stopped: Promise<void> | undefined;
  /** Resolves once the consumer joined its group. */
  readonly ready = new Promise<void>((resolve) => {
    this.resolveReady = resolve;
  });

  constructor(o: ProcessorConsumerOptions) {
    this.o = o;
    const { namespace, feed, shardIndex, kafka, log, metrics } = o;
    this.topics = {
      source: rawTopic(namespace, feed, shardIndex),
      enriched: enrichedTopic(namespace, feed, shardIndex),
      dlq: dlqTopic(namespace, feed),
    };
    this.processor = new RecordProcessor(o.shard, o.barOptions);
    this.producer = kafka.producer(PROCESSOR_PRODUCER);
    this.consumer = kafka.consumer(processorConsumer(consumerGroup('processor', namespace, feed, shardIndex)));
    this.pipeline = new CommitPipeline(
      kafkaPort({ consumer: this.consumer, producer: this.producer }, this.topics, {
        dropState: (partition) => this.processor.dropPartition(partition),
        rewound: (partition, resumeOffset, err) =>
          log.error(
            { err, partition, resumeOffset },
            'sending enriched records failed; replaying the partition from its committed offset',
          ),
        acknowledged: (partition, lag) => metrics.lag.set({ partition: String(partition) }, lag),
      }),
    );
    const badInput = new RateLimitedLog(log);
    this.observer = {
      processed: (seconds) => metrics.latency.observe(seconds),
      refused: (r, partition, offset) => {
        this.status.refused += 1;
        metrics.dlq.inc({ reason: r.reason });
        badInput.warn(r.reason, { partition, offset, instrumentId: r.instrumentId }, `refused record: ${r.detail}`);
      },
    };
  }

  get isReady(): boolean {
    return this.joined;
  }

  activity(): ShardActivity {
    return this.status.activity({
      instruments: this.processor.instrumentCount,
      joined: this.joined,
      lag: this.pipeline.totalLag(),
      rewinds: this.pipeline.rewinds,
    });
  }

  async start(): Promise<void> {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assigned = e.payload.memberAssignment[this.topics.source] ?? [];
      this.pipeline.joined(assigned);
      this.o.log.info({ topic: this.topics.source, partitions: assigned }, 'joined consumer group');
      this.joined = true;
      this.resolveReady();
    });
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topics.source, fromBeginning: true });
    await this.consumer.run({
      ...processorRun(this.o.shard.kafka.partitionsPerShard),
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Lets the batches already processed reach Kafka and commit, then leaves the group. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.consumer.pause([{ topic: this.topics.source }]);
      await this.pipeline.drain();
      await this.consumer.disconnect();
      await this.producer.disconnect();
    })();
    return this.stopped;
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.pipeline.isStopping || !isRunning() || isStale()) return;
    const { partition } = batch;
    const first = batch.messages[0];
    if (first !== undefined) this.pipeline.fetched(partition, Number(first.offset));
    const out = processBatch(this.processor, batch, this.observer);
    if (out.lastOffset === undefined) return;
    this.count(batch.messages.length, out);
    // kafkajs may fetch on from here; Kafka's committed offset moves only once the pipeline sent it.
    resolveOffset(String(out.lastOffset));
    await this.pipeline.enqueue(
      {
        partition,
        lastOffset: out.lastOffset,
        // Bar state as of the end of this batch: a restart must rebuild the bars still open.
        oldestHeld: this.processor.oldestOffsetHeld(partition),
        lag: Math.max(0, Number(batch.highWatermark) - (out.lastOffset + 1)),
        output: { enriched: out.enriched, dead: out.dead },
      },
      heartbeat,
    );
  }

  private count(records: number, out: BatchOutput): void {
    const { metrics } = this.o;
    metrics.consumed.inc(records);
    for (const [kind, n] of out.produced) metrics.produced.inc({ kind }, n);
    if (out.ivFailures > 0) metrics.ivFailures.inc(out.ivFailures);
    if (out.lateTicks > 0) metrics.lateTicks.inc(out.lateTicks);
    if (out.withoutSpot > 0) metrics.optionTicksWithoutSpot.inc(out.withoutSpot);
    this.status.recordBatch(records, out.lastTickMs);
  }
}

export interface ProcessorOptions {
  brokers: string[];
  feed: string;
  namespace: string;
  shardIndex: number;
  shard: ShardFile;
  log: Logger;
  registry?: Registry;
  barOptions?: Partial<BarOptions>;
  clientId?: string;
}

export interface RunningProcessor {
  /** Resolves once the consumer joined its group. */
  ready: Promise<void>;
  isReady(): boolean;
  status(): ShardStatus;
  stop(): Promise<void>;
}

/** Starts a processor shard in this process, its topics created first (tests and benchmarks use it). */
export async function startProcessor(opts: ProcessorOptions): Promise<RunningProcessor> {
  const { shard, log, feed, namespace, shardIndex } = opts;
  const registry = opts.registry ?? createRegistry({ component: 'processor', namespace, feed, shard: String(shardIndex) });
  const kafka = createKafka(opts.brokers, opts.clientId ?? `stockify-processor-${feed}-${shardIndex}`, log);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, shardTopicSpecs({ namespace, feed, ...shard.kafka }, shardIndex));
  } finally {
    await admin.disconnect();
  }
  const consumer = new ProcessorConsumer({ ...opts, kafka, metrics: processorMetrics(registry) });
  await consumer.start();
  return {
    ready: consumer.ready,
    isReady: () => consumer.isReady,
    status: () => ({
      feed,
      namespace,
      component: 'processor',
      shardIndex,
      shardCount: shard.shardCount,
      ...consumer.activity(),
    }),
    stop: () => consumer.stop(),
  };
}
