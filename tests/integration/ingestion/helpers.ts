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
  /** The message timestamp (ms; the producer's send time). */
  timestamp: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reads a topic from the beginning up to the end of every partition. "The end" is each partition's
 * high watermark once the topic holds at least `expected` messages in all (or once the timeout has
 * passed): a count of messages read is not used as the stopping rule, because duplicates (at-least-
 * once delivery) would stop it early and hide a missing record.
 */
export async function consumeAll(brokers: string[], topic: string, expected: number, timeoutMs = 30_000): Promise<Consumed[]> {
  const kafka = new Kafka({ clientId: 'ingestion-test', brokers, logLevel: logLevel.NOTHING });
  const until = Date.now() + timeoutMs;
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  try {
    // The topic appears when the ingestion process has started; wait for it, then for the count.
    while (!(await admin.listTopics()).includes(topic)) {
      if (Date.now() > until) return [];
      await sleep(250);
    }
    for (;;) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
      if (total >= expected || Date.now() > until) {
        for (const o of offsets) if (Number(o.high) > Number(o.low)) ends.set(o.partition, Number(o.high));
        break;
      }
      await sleep(250);
    }
  } finally {
    await admin.disconnect();
  }
  const out: Consumed[] = [];
  if (ends.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `ingestion-test-${runId()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const pending = new Set(ends.keys());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(10_000, until - Date.now()));
      void consumer.run({
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition) ?? 0;
          for (const m of batch.messages) {
            if (Number(m.offset) >= end) break;
            out.push({
              key: m.key?.toString() ?? '',
              value: m.value ?? Buffer.alloc(0),
              partition: batch.partition,
              timestamp: Number(m.timestamp),
            });
            if (Number(m.offset) === end - 1) pending.delete(batch.partition);
          }
          if (pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    // kafkajs's disconnect can wait on a group join that never completes; do not let it hang a test.
    await within(
      consumer.disconnect().catch(() => undefined),
      10_000,
    );
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

/** The sum of a metric's samples (over all label sets) on a /metrics page; undefined if it is not there. */
export async function scrapeMetric(port: string | number, name: string, labels = ''): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Polls `probe` until it returns true; throws with `what` after the timeout. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Stops a child process that is still running (SIGTERM, then SIGKILL after a grace) and waits for it. */
export async function stopProcess(run: Running, graceMs = 15_000): Promise<number | null> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return run.exited;
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), graceMs);
  const code = await run.exited;
  clearTimeout(timer);
  return code;
}

/** `promise`, or 'timeout' after `ms`; the timer is cleared either way (a pending timer keeps a test process alive). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
