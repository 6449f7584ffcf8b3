// Kafka producer: our ingestion publisher (tests/bench/ingestion/producer.bench.ts, a topic of 3
// partitions) against Kafka's ProducerPerformance at the same mean message size, into a fresh topic
// with the same partitions, acks=all as ours (idempotent producer).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createKafka } from '../../../services/core/kafka.ts';
import type { Logger } from '../../../services/core/log.ts';
import { type PerfResult, producerPerformance } from './perf-tools.ts';
import { ensureTopicsRetried } from './topics.ts';

const PRODUCER_BENCH = fileURLToPath(new URL('../ingestion/producer.bench.ts', import.meta.url));
/** Partitions of the topic producer.bench.ts creates. */
export const PRODUCER_BENCH_PARTITIONS = 3;

export interface OursProducer {
  records: number;
  batchSize: number;
  meanMessageBytes: number;
  seconds: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

export interface ProducerComparison {
  ours: OursProducer;
  reference: PerfResult & { partitions: number; recordSize: number };
}

function runOurs(records: number, env: NodeJS.ProcessEnv): Promise<OursProducer> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [PRODUCER_BENCH, String(records)],
      { env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`producer.bench.ts failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        const line = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(line) as OursProducer);
        } catch {
          reject(new Error(`producer.bench.ts printed no JSON line: ${line}`));
        }
      },
    );
  });
}

export async function compareProducer(brokers: string, records: number, log: Logger): Promise<ProducerComparison> {
  const ours = await runOurs(records, { ...process.env, KAFKA_BROKERS: brokers });
  const kafka = createKafka(brokers.split(','), 'stockify-bench-producer', log);
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench.producer-perf.${Date.now().toString(36)}`;
  try {
    await ensureTopicsRetried(admin, [{ topic, partitions: PRODUCER_BENCH_PARTITIONS, replicationFactor: 1 }]);
    const reference = await producerPerformance(brokers, topic, records, ours.meanMessageBytes);
    return { ours, reference: { ...reference, partitions: PRODUCER_BENCH_PARTITIONS, recordSize: ours.meanMessageBytes } };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
