// Kafka consumer: our processor (startProcessor, in this process) consuming N pre-produced raw ticks
// from a fresh feed's raw topic, timed from joining its group until every record is processed and
// its enriched records are acknowledged by Kafka; against Kafka's ConsumerPerformance reading the
// same topic (its fetch rate, which leaves out the group join too), and against the processor's own
// Kafka path with no work per record (null-relay.ts) over the same records.
import type { Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { createKafka } from '../../../services/core/kafka.ts';
import type { Logger } from '../../../services/core/log.ts';
import type { RawRecord } from '../../../services/core/messages.ts';
import { createRegistry } from '../../../services/core/metrics.ts';
import { codec } from '../../../services/core/proto.ts';
import { parseShardFile, type ShardFile } from '../../../services/core/shardfile.ts';
import { consumerGroup, dlqTopic, enrichedTopic, rawTopic } from '../../../services/core/topics.ts';
import { MarketSimulator } from '../../../services/ingestion/simulator/simulator.ts';
import { startProcessor } from '../../../services/processor/consumer.ts';
import { startNullRelay } from './null-relay.ts';
import { consumerPerformance, type PerfResult } from './perf-tools.ts';
import { ensureTopicsRetried } from './topics.ts';

export interface ConsumerComparison {
  records: number;
  partitions: number;
  ours: { seconds: number; messagesPerSecond: number; megabytesPerSecond: number; enrichedRecords: number };
  reference: PerfResult;
  /** The processor's Kafka path alone (null-relay.ts) over the same records: what kafkajs leaves. */
  nullRelay: { seconds: number; messagesPerSecond: number };
}

const rawCodec = codec<RawRecord>('RawRecord');
export const PARTITIONS = 3;

/** A shard of 50 equities: the instruments the pre-produced ticks are for. */
export function benchShard(feed: string, namespace: string): ShardFile {
  return parseShardFile({
    feed,
    namespace,
    shard: 0,
    shardCount: 1,
    source: { type: 'simulator' },
    kafka: { partitionsPerShard: PARTITIONS, replicationFactor: 1 },
    instruments: Array.from({ length: 50 }, (_, i) => ({
      symbol: `S${i}`,
      securityId: String(1000 + i),
      segment: 'NSE_EQ',
      kind: 'equity',
    })),
  });
}

/** N simulated raw ticks of the bench shard (a fixed seed), encoded as ingestion sends them. */
export function benchTicks(shard: ShardFile, n: number): { key: string; value: Buffer }[] {
  const sim = new MarketSimulator({
    seed: 3,
    ticksPerSecond: 10_000,
    chainSnapshotsPerSecond: 1,
    startTimeMs: Date.now() - 3_600_000,
    instruments: shard.instruments,
    pricing: shard.pricing,
  });
  return Array.from({ length: n }, () => {
    const e = sim.next();
    return { key: e.key, value: rawCodec.encode(e.record) };
  });
}

async function produceTicks(producer: Producer, topic: string, shard: ShardFile, n: number): Promise<number> {
  const ticks = benchTicks(shard, n);
  for (let i = 0; i < ticks.length; i += 5_000) {
    await producer.send({ topic, acks: -1, messages: ticks.slice(i, i + 5_000) });
  }
  return ticks.reduce((bytes, t) => bytes + t.value.length, 0);
}

async function counterValue(registry: ReturnType<typeof createRegistry>, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((s, v) => s + v.value, 0);
}

export async function compareConsumer(brokers: string, records: number, log: Logger): Promise<ConsumerComparison> {
  const feed = `bench-cons-${Date.now().toString(36)}`;
  const namespace = 'bench';
  const shard = benchShard(feed, namespace);
  const raw = rawTopic(namespace, feed, 0);
  const kafka = createKafka(brokers.split(','), 'stockify-bench-consumer', log);
  const admin = kafka.admin();
  await admin.connect();
  const perfGroup = `bench.consumer-perf.${feed}`;
  const relayGroup = `bench.null-relay.${feed}`;
  try {
    await ensureTopicsRetried(admin, [{ topic: raw, partitions: PARTITIONS, replicationFactor: 1 }]);
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const bytes = await produceTicks(producer, raw, shard, records);
    await producer.disconnect();

    const reference = await consumerPerformance(brokers, raw, perfGroup, records);

    const registry = createRegistry({ component: 'processor', feed, shard: '0' });
    const processor = await startProcessor({ brokers: brokers.split(','), feed, namespace, shardIndex: 0, shard, log, registry });
    let seconds: number;
    try {
      await processor.ready;
      const t0 = performance.now();
      const deadline = Date.now() + 600_000;
      for (;;) {
        const consumed = await counterValue(registry, 'stockify_processor_records_consumed_total');
        // consumed counts a record before its batch is sent; lag 0 after it means the last batch
        // of every partition was acknowledged by Kafka.
        if (consumed >= records && processor.status().lag === 0) break;
        if (Date.now() > deadline) throw new Error(`processor consumed ${consumed} of ${records} records in 10 minutes`);
        await new Promise((r) => setTimeout(r, 5));
      }
      seconds = (performance.now() - t0) / 1000;
    } finally {
      await processor.stop();
    }
    const enrichedRecords = await counterValue(registry, 'stockify_processor_records_produced_total');
    // The same records again through the same Kafka path with no work per record (own group; its
    // copies go to the same enriched topic, deleted below).
    const relay = await startNullRelay(
      kafka,
      { source: raw, enriched: enrichedTopic(namespace, feed, 0), dlq: dlqTopic(namespace, feed) },
      relayGroup,
      PARTITIONS,
      log,
    );
    await relay.ready;
    const r0 = performance.now();
    const relayDeadline = Date.now() + 600_000;
    while (relay.relayed() < records) {
      if (Date.now() > relayDeadline) throw new Error(`null relay passed ${relay.relayed()} of ${records} records in 10 minutes`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await relay.drain(); // every relayed record acknowledged and committed
    const relaySeconds = (performance.now() - r0) / 1000;
    await relay.stop();
    return {
      records,
      partitions: PARTITIONS,
      ours: {
        seconds,
        messagesPerSecond: records / seconds,
        megabytesPerSecond: bytes / 1e6 / seconds,
        enrichedRecords,
      },
      reference,
      nullRelay: { seconds: relaySeconds, messagesPerSecond: records / relaySeconds },
    };
  } finally {
    await admin
      .deleteTopics({ topics: [raw, enrichedTopic(namespace, feed, 0), dlqTopic(namespace, feed)] })
      .catch(() => undefined);
    await admin.deleteGroups([consumerGroup('processor', namespace, feed, 0), perfGroup, relayGroup]).catch(() => undefined);
    await admin.disconnect();
  }
}
