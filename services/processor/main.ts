// `stockify processor`: one processor shard. Consumes market.raw.<ns>.<feed>.<i> in the consumer
// group of the shard, writes enriched records to market.enriched.<ns>.<feed>.<i> and refused ones
// to market.dlq.<ns>.<feed>. Offsets are committed only after Kafka acknowledged every record the
// batch produced, and never past the first record of a bar still being built, so a killed process
// loses nothing: its successor replays and re-emits (duplicates are merged by storage).
// Throughput: every partition of the shard is consumed concurrently, and per partition the sends are
// pipelined — batch n is sent (then committed) while batch n+1 is fetched and processed, the sends of
// a partition one after another in offset order. A failed send or commit rewinds its partition to
// the committed offset with fresh bar state; a group join does the same for every partition.
import { CompressionTypes, type Consumer, type Kafka, type Message, type Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { parseCommand } from '../core/cli.ts';
import { loadConfigOrExit } from '../core/config.ts';
import { startGrpcServer } from '../core/grpc.ts';
import { createKafka, ensureTopics } from '../core/kafka.ts';
import { fatal, Lifecycle } from '../core/lifecycle.ts';
import { createLogger, type Logger, RateLimitedLog } from '../core/log.ts';
import type { DeadLetter, EnrichedRecord, ShardStatus } from '../core/messages.ts';
import { createRegistry, serveMetrics } from '../core/metrics.ts';
import { codec, SCHEMA_VERSION, serviceDefinition } from '../core/proto.ts';
import { readShardFile, type ShardFile } from '../core/shardfile.ts';
import { consumerGroup, DLQ_PARTITIONS, dlqTopic, enrichedTopic, rawTopic } from '../core/topics.ts';
import { extractTraceContext, injectTraceHeaders, type KafkaHeaders } from '../core/tracing.ts';
import type { BarOptions } from './bars.ts';
import { RecordProcessor } from './records.ts';

const USAGE = `Usage: stockify processor [--bar-grace-ms N] [--bar-partial-ms N]

Runs one processor shard: normalises raw ticks, solves implied volatility and Greeks for option
chains, computes gamma exposure and one-minute bars.

Environment:
  KAFKA_BROKERS     host:port[,host:port...]
  FEED_NAME         the MarketFeed name
  FEED_NAMESPACE    its namespace (default "default")
  SHARD_INDEX       this shard, 0 ≤ SHARD_INDEX < SHARD_COUNT
  SHARD_COUNT       shards of the feed
  INSTRUMENTS_FILE  the shard file (instruments, pricing.riskFreeRate / dividendYield)
  METRICS_PORT      /metrics, /healthz, /readyz (default 9464)
  GRPC_PORT         stockify.v1.Shard status and gRPC health (default 50051)
  LOG_LEVEL         fatal|error|warn|info|debug|trace|silent (default info)

Options:
  --bar-grace-ms N    how long (event time) a late tick may still amend a closed bar (default 5000)
  --bar-partial-ms N  minimum event time between partial bar updates per instrument (default 1000)
  --help              this text`;

/**
 * Largest number of records in one produce request. kafkajs groups a request's records by partition
 * in time quadratic in their number (2,000 cost more CPU than the round trips 500 add).
 */
const SEND_CHUNK = 500;
/** Largest number of processed batches of one partition waiting for Kafka's acknowledgement. */
const MAX_PENDING_BATCHES = 4;

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

interface Metrics {
  consumed: Counter;
  produced: Counter<'kind'>;
  dlq: Counter<'reason'>;
  ivFailures: Counter;
  lateTicks: Counter;
  latency: Histogram;
  lag: Gauge<'partition'>;
}

function createMetrics(registry: Registry): Metrics {
  return {
    consumed: new Counter({
      name: 'stockify_processor_records_consumed_total',
      help: 'raw records consumed',
      registers: [registry],
    }),
    produced: new Counter({
      name: 'stockify_processor_records_produced_total',
      help: 'enriched records produced, by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    dlq: new Counter({
      name: 'stockify_processor_dlq_total',
      help: 'records sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    ivFailures: new Counter({
      name: 'stockify_processor_iv_failures_total',
      help: 'option quotes for which no implied volatility reproduces the price',
      registers: [registry],
    }),
    lateTicks: new Counter({
      name: 'stockify_processor_late_ticks_dropped_total',
      help: 'ticks too late for their bar (past the grace period)',
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'stockify_processor_processing_seconds',
      help: 'time to process one raw record (decode to enriched records)',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'stockify_processor_consumer_lag',
      help: 'records between the last processed offset and the partition end',
      labelNames: ['partition'],
      registers: [registry],
    }),
  };
}

const enrichedCodec = codec<EnrichedRecord>('EnrichedRecord');
const deadLetterCodec = codec<DeadLetter>('DeadLetter');

/** Starts a processor shard in this process (the CLI and the integration tests use it). */
export async function startProcessor(opts: ProcessorOptions): Promise<RunningProcessor> {
  const { shard, log, feed, namespace, shardIndex } = opts;
  const registry = opts.registry ?? createRegistry({ component: 'processor', feed, shard: String(shardIndex) });
  const metrics = createMetrics(registry);
  const source = rawTopic(namespace, feed, shardIndex);
  const target = enrichedTopic(namespace, feed, shardIndex);
  const dlq = dlqTopic(namespace, feed);
  const kafka: Kafka = createKafka(opts.brokers, opts.clientId ?? `stockify-processor-${feed}-${shardIndex}`, log);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const partitions = shard.kafka.partitionsPerShard;
    const replicationFactor = shard.kafka.replicationFactor;
    await ensureTopics(admin, [
      { topic: source, partitions, replicationFactor },
      { topic: target, partitions, replicationFactor },
      { topic: dlq, partitions: DLQ_PARTITIONS, replicationFactor },
    ]);
  } finally {
    await admin.disconnect();
  }

  const processor = new RecordProcessor(shard, opts.barOptions);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer: Consumer = kafka.consumer({
    groupId: consumerGroup('processor', namespace, feed, shardIndex),
    allowAutoTopicCreation: false,
  });
  const badInput = new RateLimitedLog(log);
  const committed = new Map<number, number>();
  const lagByPartition = new Map<number, number>();
  /** The first offset fetched for a partition since this process was assigned it (where a replay starts when nothing is committed). */
  const startOffsets = new Map<number, number>();
  /** Per partition, the batches whose enriched records are being sent, oldest first; each commits after its send. */
  const pipelines = new Map<number, Promise<void>[]>();
  /** Bumped on every group join: batches of an earlier assignment neither commit nor retry. */
  let epoch = 0;
  /** Bumped per partition when a send or commit failed and the partition was rewound. */
  const generations = new Map<number, number>();
  let stopping = false;
  let joined = false;
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  let errors = 0;
  let lastTickMs = 0;
  let rateWindowStart = Date.now();
  let rateCount = 0;
  let ticksPerSecond = 0;

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // After a (re)join kafkajs resumes every assigned partition from its committed offset, which
    // is never past the first record of an open bar: bar state is rebuilt from there, so it is
    // dropped for every partition, kept ones included (replaying into it would count ticks twice).
    epoch += 1;
    const mine = new Set(e.payload.memberAssignment[source] ?? []);
    for (const p of new Set([...committed.keys(), ...startOffsets.keys()])) {
      processor.dropPartition(p);
      if (!mine.has(p)) {
        committed.delete(p);
        lagByPartition.delete(p);
      }
    }
    startOffsets.clear();
    log.info({ topic: source, partitions: [...mine] }, 'joined consumer group');
    joined = true;
    resolveReady();
  });

  /** Sends one batch's records: one produce request per SEND_CHUNK records, each acknowledged by all replicas. */
  const send = async (enriched: Message[], dead: Message[]): Promise<void> => {
    for (let i = 0; i < enriched.length + dead.length; i += SEND_CHUNK) {
      const topicMessages = [];
      const e = enriched.slice(i, i + SEND_CHUNK);
      if (e.length > 0) topicMessages.push({ topic: target, messages: e });
      const from = Math.max(0, i - enriched.length);
      const to = Math.max(0, i + SEND_CHUNK - enriched.length);
      const d = dead.slice(from, to);
      if (d.length > 0) topicMessages.push({ topic: dlq, messages: d });
      await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages });
    }
  };

  /** A send or commit failed (after the client's retries): rewind the partition to its committed offset and rebuild. */
  const rewind = (partition: number, generation: number, batchEpoch: number, err: unknown): void => {
    if (batchEpoch !== epoch || (generations.get(partition) ?? 0) !== generation || stopping) return;
    generations.set(partition, generation + 1);
    errors += 1;
    processor.dropPartition(partition);
    const resume = committed.get(partition) ?? startOffsets.get(partition);
    log.error(
      { err, partition, resumeOffset: resume },
      'sending enriched records failed; replaying the partition from its committed offset',
    );
    if (resume === undefined) return;
    try {
      consumer.seek({ topic: source, partition, offset: String(resume) });
    } catch (seekErr) {
      fatal('processor', seekErr);
    }
  };

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: source, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Partitions are independent (bar state is per partition, records are processed whole between
    // awaits), so every partition of the shard is consumed at once.
    partitionsConsumedConcurrently: shard.kafka.partitionsPerShard,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (stopping || !isRunning() || isStale()) return;
      const partition = batch.partition;
      const batchEpoch = epoch;
      const generation = generations.get(partition) ?? 0;
      const first = batch.messages[0];
      if (first !== undefined && !startOffsets.has(partition)) startOffsets.set(partition, Number(first.offset));
      const enriched: Message[] = [];
      const dead: Message[] = [];
      const produced = new Map<string, number>();
      let ivFailures = 0;
      let lateTicks = 0;
      let last: number | undefined;
      // No await in this loop: a batch is processed whole, so partitions processed concurrently
      // never interleave inside a record's or a batch's processing.
      for (const m of batch.messages) {
        const started = performance.now();
        const offset = Number(m.offset);
        const result = processor.process(m.value, partition, offset);
        const headers = injectTraceHeaders({}, extractTraceContext(m.headers as KafkaHeaders)) as Message['headers'];
        for (const o of result.outputs) {
          enriched.push({ key: o.key, value: enrichedCodec.encode(o.value), headers });
          produced.set(o.value.payload, (produced.get(o.value.payload) ?? 0) + 1);
        }
        if (result.rejection) {
          const r = result.rejection;
          errors += 1;
          metrics.dlq.inc({ reason: r.reason });
          badInput.warn(r.reason, { partition, offset: m.offset, instrumentId: r.instrumentId }, `refused record: ${r.detail}`);
          dead.push({
            key: r.instrumentId || m.key,
            value: deadLetterCodec.encode({
              schemaVersion: SCHEMA_VERSION,
              stage: 'processor',
              reason: `${r.reason}: ${r.detail}`,
              source: r.source,
              instrumentId: r.instrumentId,
              payload: m.value ?? Buffer.alloc(0),
              timeMs: Number(m.timestamp),
              originTopic: batch.topic,
              originPartition: partition,
              originOffset: m.offset,
            }),
            headers,
          });
        }
        ivFailures += result.ivFailures;
        lateTicks += result.lateTicksDropped;
        if (result.timeMs !== undefined) lastTickMs = Math.max(lastTickMs, result.timeMs);
        metrics.latency.observe((performance.now() - started) / 1000);
        last = offset;
      }
      if (last === undefined) return;
      const count = batch.messages.length;
      metrics.consumed.inc(count);
      for (const [kind, n] of produced) metrics.produced.inc({ kind }, n);
      if (ivFailures > 0) metrics.ivFailures.inc(ivFailures);
      if (lateTicks > 0) metrics.lateTicks.inc(lateTicks);
      rateCount += count;
      const now = Date.now();
      if (now - rateWindowStart >= 5_000) {
        ticksPerSecond = (rateCount * 1000) / (now - rateWindowStart);
        rateWindowStart = now;
        rateCount = 0;
      }
      // The offset to commit once this batch's records are acknowledged: past the batch, but never
      // past the first record of a bar still being built (bar state as of the end of this batch).
      const held = processor.oldestOffsetHeld(partition);
      const next = held === undefined ? last + 1 : Math.min(held, last + 1);
      const lag = Math.max(0, Number(batch.highWatermark) - (last + 1));
      // kafkajs may fetch on from here; Kafka's committed offset moves only after the send below.
      resolveOffset(String(last));
      // Pipelined: this batch is sent after the partition's previous batches (so its records stay in
      // order) while the consumer fetches and processes the next one.
      const queue = pipelines.get(partition) ?? [];
      pipelines.set(partition, queue);
      const previous = queue.at(-1) ?? Promise.resolve();
      const live = (): boolean => batchEpoch === epoch && (generations.get(partition) ?? 0) === generation;
      const link: Promise<void> = previous
        .then(async () => {
          if (!live()) return;
          await send(enriched, dead);
          if (!live()) return;
          const done = committed.get(partition);
          if (done === undefined || next > done) {
            await consumer.commitOffsets([{ topic: source, partition, offset: String(next) }]);
            committed.set(partition, next);
          }
          lagByPartition.set(partition, lag);
          metrics.lag.set({ partition: String(partition) }, lag);
        })
        .catch((err: unknown) => rewind(partition, generation, batchEpoch, err))
        .finally(() => {
          const i = queue.indexOf(link);
          if (i >= 0) queue.splice(i, 1);
        });
      queue.push(link);
      // Back-pressure: at most MAX_PENDING_BATCHES batches of a partition wait for Kafka.
      while (queue.length > MAX_PENDING_BATCHES) {
        await queue[0];
        await heartbeat();
      }
    },
  });

  const status = (): ShardStatus => ({
    feed,
    namespace,
    component: 'processor',
    shardIndex,
    shardCount: shard.shardCount,
    instruments: processor.instrumentCount,
    ticksPerSecond,
    lastTickMs,
    connectionState: joined ? 'CONNECTED' : 'CONNECTING',
    lag: [...lagByPartition.values()].reduce((a, b) => a + b, 0),
    errors,
  });

  let stopped: Promise<void> | undefined;
  return {
    ready,
    isReady: () => joined,
    status,
    stop: () => {
      stopped ??= (async () => {
        // Let the batches already processed reach Kafka and commit before leaving the group.
        stopping = true;
        consumer.pause([{ topic: source }]);
        for (let queued = [...pipelines.values()].flat(); queued.length > 0; queued = [...pipelines.values()].flat()) {
          await Promise.all(queued);
        }
        await consumer.disconnect();
        await producer.disconnect();
      })();
      return stopped;
    },
  };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    usage: USAGE,
    options: { 'bar-grace-ms': { type: 'string' }, 'bar-partial-ms': { type: 'string' } },
  });
  if (!parsed.ok) return parsed.exitCode;
  const barOptions: Partial<BarOptions> = {};
  for (const [flag, key] of [
    ['bar-grace-ms', 'graceMs'],
    ['bar-partial-ms', 'partialIntervalMs'],
  ] as const) {
    const text = parsed.parsed.values[flag];
    if (text === undefined) continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) {
      process.stderr.write(`--${flag} must be a whole number of milliseconds ≥ 0, got '${text}'\n\n${USAGE}\n`);
      return 2;
    }
    barOptions[key] = value;
  }
  const config = loadConfigOrExit([
    'KAFKA_BROKERS',
    'FEED_NAME',
    'FEED_NAMESPACE',
    'SHARD_INDEX',
    'SHARD_COUNT',
    'INSTRUMENTS_FILE',
    'METRICS_PORT',
    'GRPC_PORT',
    'LOG_LEVEL',
  ]);
  const log = createLogger({
    component: 'processor',
    level: config.LOG_LEVEL,
    base: { feed: config.FEED_NAME, shard: config.SHARD_INDEX },
  });
  let shard: ShardFile;
  try {
    shard = readShardFile(config.INSTRUMENTS_FILE);
  } catch (err) {
    process.stderr.write(`config: INSTRUMENTS_FILE ${(err as Error).message}\n`);
    return 2;
  }
  if (shard.shard !== config.SHARD_INDEX || shard.feed !== config.FEED_NAME || shard.namespace !== config.FEED_NAMESPACE) {
    log.warn(
      { file: { feed: shard.feed, namespace: shard.namespace, shard: shard.shard } },
      'INSTRUMENTS_FILE names another shard than the environment; the environment decides the topics',
    );
  }
  const lifecycle = new Lifecycle(log);
  const stopped = lifecycle.handleSignals();
  const registry = createRegistry({ component: 'processor', feed: config.FEED_NAME, shard: String(config.SHARD_INDEX) });
  let running: RunningProcessor | undefined;
  try {
    const http = await serveMetrics(registry, config.METRICS_PORT, {
      live: () => true,
      ready: () => running?.isReady() ?? false,
    });
    lifecycle.onStop('metrics', () => http.close());
    running = await startProcessor({
      brokers: config.KAFKA_BROKERS,
      feed: config.FEED_NAME,
      namespace: config.FEED_NAMESPACE,
      shardIndex: config.SHARD_INDEX,
      shard: { ...shard, shardCount: config.SHARD_COUNT },
      log,
      registry,
      barOptions,
    });
    const processor = running;
    lifecycle.onStop('processor', () => processor.stop());
    const grpc = await startGrpcServer({
      port: config.GRPC_PORT,
      log,
      services: [
        {
          name: 'stockify.v1.Shard',
          definition: serviceDefinition('Shard'),
          implementation: {
            GetStatus: (_call: unknown, callback: (err: null, value: ShardStatus) => void) => callback(null, processor.status()),
          },
        },
      ],
    });
    lifecycle.onStop('grpc', () => grpc.drain());
    log.info({ brokers: config.KAFKA_BROKERS }, 'processor running');
  } catch (err) {
    await lifecycle.stop();
    fatal('processor', err);
  }
  await stopped;
  return 0;
}
