// Producer benchmark: our publisher (bounded buffer, batches, idempotent kafkajs producer) sending
// N simulated ticks to a fresh topic; prints messages/s, MB/s and the mean message size, so the
// broker's own perf tool can be run at the same size for comparison.
// Usage: KAFKA_BROKERS=127.0.0.1:9092 node tests/bench/ingestion/producer.bench.ts [records] [batchSize]
import { Partitioners } from 'kafkajs';
import { createKafka, ensureTopics } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import type { RawRecord } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { instrumentSpecSchema } from '../../../services/core/shardfile.ts';
import { Publisher } from '../../../services/ingestion/publisher.ts';
import { MarketSimulator } from '../../../services/ingestion/simulator/simulator.ts';

const records = Number(process.argv[2] ?? 200_000);
const batchSize = Number(process.argv[3] ?? 1000);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const log = createLogger({ component: 'bench', level: 'warn' });
const topic = `bench.ingestion.${Date.now()}`;
const rawCodec = codec<RawRecord>('RawRecord');

const instruments = Array.from({ length: 50 }, (_, i) =>
  instrumentSpecSchema.parse({ symbol: `S${i}`, securityId: String(1000 + i), segment: 'NSE_EQ', kind: 'equity' }),
);
const sim = new MarketSimulator({
  seed: 1,
  ticksPerSecond: 10_000,
  chainSnapshotsPerSecond: 1,
  startTimeMs: Date.parse('2026-11-26T10:00:00+05:30'),
  instruments,
  pricing: { riskFreeRate: 0.065, dividendYield: 0 },
});
// Encode up front: the benchmark measures the publisher and the broker, not the simulator.
const messages = Array.from({ length: records }, () => {
  const e = sim.next();
  return { key: e.key, value: rawCodec.encode(e.record) };
});
const bytes = messages.reduce((s, m) => s + m.value.length, 0);

const kafka = createKafka(brokers, 'stockify-bench', log);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [{ topic, partitions: 3, replicationFactor: 1 }]);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const publisher = new Publisher(producer, { maxBuffered: 100_000, batchSize, lingerMs: 5, log });
publisher.start();
const started = process.hrtime.bigint();
for (const m of messages) {
  if (!publisher.hasRoom()) await publisher.waitForRoom();
  publisher.enqueue({ topic, key: m.key, value: m.value, headers: {}, source: 'bench', enqueuedAt: Date.now() });
}
await publisher.close(120_000);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await producer.disconnect();
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();
const result = {
  records,
  batchSize,
  meanMessageBytes: Math.round(bytes / records),
  seconds: Number(seconds.toFixed(3)),
  messagesPerSecond: Math.round(records / seconds),
  megabytesPerSecond: Number((bytes / 1e6 / seconds).toFixed(2)),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
