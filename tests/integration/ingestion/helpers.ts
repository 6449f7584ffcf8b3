// Shared plumbing of the ingestion integration tests: run `stockify ingestion` as a process, read
// topics back with a real consumer, write shard files.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export const runId = (): string => `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

export function writeShardFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'stockify-ingestion-'));
  const path = join(dir, 'shard.json');
  writeFileSync(path, JSON.stringify(content, null, 2));
  return path;
}

export interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startIngestion(env: Record<string, string>, args: string[] = []): Running {
  const child = spawn(process.execPath, [join(ROOT, 'services/cli.ts'), 'ingestion', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export function freePort(): Promise<number> {
  return import('node:net').then(
    ({ createServer }) =>
      new Promise((resolve, reject) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
          const a = s.address();
          const port = typeof a === 'object' && a ? a.port : 0;
          s.close(() => resolve(port));
        });
        s.on('error', reject);
      }),
  );
}

export interface Consumed {
  key: string;
  value: Buffer;
  partition: number;
}

/** Reads a topic from the beginning until `expected` messages arrived or the timeout passed. */
export async function consumeAll(brokers: string[], topic: string, expected: number, timeoutMs = 30_000): Promise<Consumed[]> {
  const kafka = new Kafka({ clientId: 'ingestion-test', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `ingestion-test-${runId()}` });
  const out: Consumed[] = [];
  // The topic appears when the ingestion process has started; wait for it.
  const admin = kafka.admin();
  await admin.connect();
  const until = Date.now() + timeoutMs;
  while (!(await admin.listTopics()).includes(topic)) {
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await admin.disconnect();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            out.push({ key: m.key?.toString() ?? '', value: m.value ?? Buffer.alloc(0), partition: batch.partition });
          }
          if (out.length >= expected) {
            clearTimeout(timer);
            // Give a moment for anything beyond the expectation (duplicates) to show up.
            setTimeout(resolve, 1500);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'ingestion-test-cleanup', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.includes(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

export async function baseEnv(
  feed: string,
  shard: number,
  shardCount: number,
  file: string,
  brokers = BROKERS,
): Promise<Record<string, string>> {
  return {
    KAFKA_BROKERS: brokers.join(','),
    FEED_NAME: feed,
    FEED_NAMESPACE: 'itest',
    SHARD_INDEX: String(shard),
    SHARD_COUNT: String(shardCount),
    INSTRUMENTS_FILE: file,
    GRPC_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
  };
}
