// `stockify processor`: one processor shard. Consumes market.raw.<ns>.<feed>.<i> in the consumer
// group of the shard, writes enriched records to market.enriched.<ns>.<feed>.<i> and refused ones
// to market.dlq.<ns>.<feed>. Offsets are committed only after Kafka acknowledged every record the
// batch produced, and never past the first record of a bar still being built, so a killed process
// loses nothing: its successor replays and re-emits (duplicates are merged by storage).
import type { Consumer, Kafka, Message, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { parseCommand } from '../core/cli.ts';
import { loadConfigOrExit } from '../core/config.ts';
import { startGrpcServer } from '../core/grpc.ts';
import { consumerGroup, createKafka, DLQ_PARTITIONS, dlqTopic, enrichedTopic, ensureTopics, rawTopic } from '../core/kafka.ts';
import { fatal, Lifecycle } from '../core/lifecycle.ts';
import { createLogger, type Logger, RateLimitedLog } from '../core/log.ts';
import type { DeadLetter, EnrichedRecord, ShardStatus } from '../core/messages.ts';
import { createRegistry, serveMetrics } from '../core/metrics.ts';
import { codec, SCHEMA_VERSION, serviceDefinition } from '../core/proto.ts';
import { readShardFile, type ShardFile } from '../core/shardfile.ts';
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

/** Largest number of records in one produce request. */
const SEND_CHUNK = 2_000;

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
    const mine = new Set(e.payload.memberAssignment[source] ?? []);
    for (const p of [...committed.keys()]) {
      if (!mine.has(p)) {
        processor.dropPartition(p);
        committed.delete(p);
        lagByPartition.delete(p);
      }
    }
    log.info({ topic: source, partitions: [...mine] }, 'joined consumer group');
    joined = true;
    resolveReady();
  });

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: source, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const partition = batch.partition;
      const enriched: Message[] = [];
      const dead: Message[] = [];
      let last: number | undefined;
      for (const m of batch.messages) {
        if (!isRunning() || isStale()) break;
        const started = performance.now();
        const offset = Number(m.offset);
        const result = processor.process(m.value, partition, offset);
        const headers = injectTraceHeaders({}, extractTraceContext(m.headers as KafkaHeaders));
        for (const o of result.outputs) {
          enriched.push({ key: o.key, value: enrichedCodec.encode(o.value), headers: headers as Message['headers'] });
          metrics.produced.inc({ kind: o.value.payload });
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
            headers: headers as Message['headers'],
          });
        }
        if (result.ivFailures > 0) metrics.ivFailures.inc(result.ivFailures);
        if (result.lateTicksDropped > 0) metrics.lateTicks.inc(result.lateTicksDropped);
        if (result.timeMs !== undefined) lastTickMs = Math.max(lastTickMs, result.timeMs);
        metrics.consumed.inc();
        rateCount += 1;
        metrics.latency.observe((performance.now() - started) / 1000);
        last = offset;
      }
      if (last === undefined) return;
      // Everything this batch produced must be acknowledged before its offsets count as done.
      const all = [
        ...enriched.map((message) => ({ topic: target, message })),
        ...dead.map((message) => ({ topic: dlq, message })),
      ];
      for (let i = 0; i < all.length; i += SEND_CHUNK) {
        const chunk = all.slice(i, i + SEND_CHUNK);
        const byTopic = new Map<string, Message[]>();
        for (const { topic, message } of chunk) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        await heartbeat();
      }
      resolveOffset(String(last));
      const held = processor.oldestOffsetHeld(partition);
      const next = held === undefined ? last + 1 : Math.min(held, last + 1);
      const previous = committed.get(partition);
      if (previous === undefined || next > previous) {
        await consumer.commitOffsets([{ topic: batch.topic, partition, offset: String(next) }]);
        committed.set(partition, next);
      }
      const lag = Math.max(0, Number(batch.highWatermark) - (last + 1));
      lagByPartition.set(partition, lag);
      metrics.lag.set({ partition: String(partition) }, lag);
      const now = Date.now();
      if (now - rateWindowStart >= 5_000) {
        ticksPerSecond = (rateCount * 1000) / (now - rateWindowStart);
        rateWindowStart = now;
        rateCount = 0;
      }
      await heartbeat();
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

  let stopping: Promise<void> | undefined;
  return {
    ready,
    isReady: () => joined,
    status,
    stop: () => {
      stopping ??= (async () => {
        await consumer.disconnect();
        await producer.disconnect();
      })();
      return stopping;
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
