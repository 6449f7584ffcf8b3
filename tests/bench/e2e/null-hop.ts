// One hop of the null pipeline (null-pipeline.ts): the end-to-end bench's three Kafka hops with our
// Kafka code and settings but no work per record, as its own process like each component.
//   source  ingestion's publisher (ShardProducer, default flags) sends N pre-encoded raw ticks
//   relay   the processor's consumer and commit pipeline pass each raw record on unchanged (null-relay.ts)
//   sink    the storage consumer's settings; each chunk of a batch committed, nothing written
// Prints JSON lines on stdout: {"event":"ready"} once joined (relay, sink); at the sink
// {"event":"first"} after its first commit and {"event":"done"} once N are committed (with the
// count and the time); at the source {"event":"sending"} once its records are encoded and
// {"event":"sent","count":N} once Kafka acknowledged them (each with the source's CPU time so far).
// env: KAFKA_BROKERS, NULL_FEED (topics and groups of the pseudo feed), NULL_RECORDS (source and sink)
import type { EachBatchPayload } from 'kafkajs';
import { createKafka } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import { createRegistry } from '../../../services/core/metrics.ts';
import { consumerGroup, dlqTopic, enrichedTopic, rawTopic } from '../../../services/core/topics.ts';
import { ingestionFlags } from '../../../services/ingestion/flags.ts';
import { createIngestionMetrics } from '../../../services/ingestion/metrics.ts';
import { flushPublisher, ShardProducer, startPublisher } from '../../../services/ingestion/shard-producer.ts';
import { MAX_ROWS_PER_TRANSACTION, STORAGE_CONCURRENCY, storageConsumer } from '../../../services/storage/consumer.ts';
import { benchShard, benchTicks, PARTITIONS } from '../kafka/consumer.ts';
import { startNullRelay } from '../kafka/null-relay.ts';
import { NULL_NAMESPACE } from './null-pipeline.ts';

const role = process.argv[2];
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const feed = process.env.NULL_FEED ?? '';
const records = Number(process.env.NULL_RECORDS ?? 0);
const log = createLogger({ component: `null-${role}`, level: 'error', destination: process.stderr });
const kafka = createKafka(brokers, `stockify-bench-null-${role}`, log);
const say = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};
const raw = rawTopic(NULL_NAMESPACE, feed, 0);
const enriched = enrichedTopic(NULL_NAMESPACE, feed, 0);

async function source(): Promise<void> {
  // Encoded before the clock starts: no work per record while sending.
  const messages = benchTicks(benchShard(feed, NULL_NAMESPACE), records);
  const producer = new ShardProducer(kafka);
  await producer.connect();
  const cpuUs = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  say({ event: 'sending', cpuUs: cpuUs() });
  const publisher = startPublisher(producer, ingestionFlags.parse({}), createIngestionMetrics(createRegistry()), log);
  for (const { key, value } of messages) {
    if (!publisher.hasRoom()) await publisher.waitForRoom();
    publisher.enqueue({ topic: raw, key, value, headers: {}, source: 'simulator', enqueuedAt: Date.now() });
  }
  await flushPublisher(publisher, log);
  await producer.disconnect();
  say({ event: 'sent', count: publisher.publishedCount, cpuUs: cpuUs() });
}

async function relay(): Promise<void> {
  const topics = { source: raw, enriched, dlq: dlqTopic(NULL_NAMESPACE, feed) };
  const r = await startNullRelay(kafka, topics, consumerGroup('processor', NULL_NAMESPACE, feed, 0), PARTITIONS, log);
  await r.ready;
  say({ event: 'ready' });
}

async function sink(): Promise<void> {
  const consumer = kafka.consumer(storageConsumer(consumerGroup('storage', NULL_NAMESPACE, feed, 0)));
  let count = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => say({ event: 'ready' }));
  await consumer.connect();
  await consumer.subscribe({ topic: enriched, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: STORAGE_CONCURRENCY,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      for (let start = 0; start < batch.messages.length; start += MAX_ROWS_PER_TRANSACTION) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(start, start + MAX_ROWS_PER_TRANSACTION);
        const last = chunk.at(-1);
        if (!last) continue;
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
        resolveOffset(last.offset);
        const firstChunk = count === 0;
        count += chunk.length;
        if (firstChunk) say({ event: 'first', count, atMs: Date.now() });
        if (count >= records) say({ event: 'done', count, atMs: Date.now() });
        await heartbeat();
      }
    },
  });
}

const hops: Record<string, () => Promise<void>> = { source, relay, sink };
const hop = role === undefined ? undefined : hops[role];
if (!hop || brokers[0] === '' || feed === '') {
  process.stderr.write('usage: KAFKA_BROKERS=… NULL_FEED=… [NULL_RECORDS=N] node null-hop.ts source|relay|sink\n');
  process.exit(2);
}
hop().catch((err: unknown) => {
  process.stderr.write(`null ${role}: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
