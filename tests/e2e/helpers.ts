// Plumbing of the end-to-end test: kubectl and helm as child processes (asynchronous, so live
// gRPC streams keep flowing while they run), waiting, phase timing, reading back what the
// simulator published to Kafka, and writing a backlog into a topic.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import '../../services/core/kafka-request-queue.ts';
import type { RawRecord } from '../../services/core/messages.ts';
import { codec } from '../../services/core/proto.ts';

export const root = fileURLToPath(new URL('../../', import.meta.url));

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end test with make e2e (it loads .local/cluster.env)`);
  return v;
}

function pinned(name: string): string {
  const text = readFileSync(join(root, 'infra/versions.env'), 'utf8');
  const v = new RegExp(`^${name}=(\\S+)`, 'm').exec(text)?.[1];
  if (!v) throw new Error(`infra/versions.env has no ${name}`);
  return v;
}

function locate(envVar: string, cached: string, name: string): string {
  return process.env[envVar] ?? (existsSync(cached) ? cached : name);
}

const cache = process.env.STOCKIFY_CACHE ?? join(homedir(), '.cache/stockify');
export const kubectlBin = locate('KUBECTL', join(cache, 'kube', pinned('KUBE_VERSION'), 'bin/kubectl'), 'kubectl');
export const helmBin = locate('HELM', join(cache, 'helm', pinned('HELM_VERSION'), 'bin/helm'), 'helm');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: string[], input?: string, timeoutMs = 180_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      args,
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : '') });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs and insists on exit 0, with the command's output in the failure. */
export async function ok(bin: string, args: string[], input?: string, timeoutMs?: number): Promise<string> {
  const r = await run(bin, args, input, timeoutMs);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const kubectl = (args: string[], input?: string): Promise<string> => ok(kubectlBin, args, input);
export const helm = (args: string[], input?: string): Promise<string> => ok(helmBin, args, input, 300_000);

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until probe returns a value (not undefined/false); the last probe error names the cause. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 2_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastValue: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      lastValue = v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  const why = last ? ` (last error: ${(last as Error).message})` : lastValue === undefined ? '' : '';
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${why}`);
}

/** Prints how long a phase took, in the test output (`# phase …`). */
export async function phase<T>(name: string, body: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await body();
  } finally {
    process.stdout.write(`# phase ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
}

export const report = (line: string): void => {
  process.stdout.write(`# ${line}\n`);
};

export interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

export const podReady = (p: PodList['items'][number]): boolean =>
  !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export interface SentTick {
  instrumentId: string;
  seq: number;
  /** Kafka timestamp of the raw record (when ingestion published it). */
  publishedMs: number;
}

/**
 * Every tick the ingestion pods published to the feed's raw topics, read from the beginning of
 * each topic up to its current end. Ticks published twice (at-least-once) appear once.
 */
export async function publishedTicks(brokers: string, topics: string[]): Promise<Map<string, SentTick>> {
  const kafka = new Kafka({ clientId: 'stockify-e2e', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const end = new Map<string, string>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) end.set(`${topic}/${p.partition}`, p.high);
    }
  } finally {
    await admin.disconnect();
  }
  const remaining = new Set([...end].filter(([, high]) => high !== '0').map(([k]) => k));
  const ticks = new Map<string, SentTick>();
  if (remaining.size === 0) return ticks;
  const rawCodec = codec<RawRecord>('RawRecord');
  const consumer = kafka.consumer({ groupId: `stockify-e2e-audit-${Date.now()}-${process.pid}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (!m.value) continue;
          const rec = rawCodec.decode(m.value);
          if (rec.payload === 'tick') {
            const id = rec.tick.instrument.id;
            ticks.set(`${id}|${rec.tick.seq}`, { instrumentId: id, seq: rec.tick.seq, publishedMs: Number(m.timestamp) });
          }
        }
        const key = `${batch.topic}/${batch.partition}`;
        if (BigInt(batch.lastOffset()) + 1n >= BigInt(end.get(key) ?? '0')) {
          remaining.delete(key);
          if (remaining.size === 0) done();
        }
      },
    });
    await Promise.race([
      finished,
      sleep(180_000).then(() => {
        throw new Error(`reading the raw topics did not reach their end in 180 s (left: ${[...remaining].join(', ')})`);
      }),
    ]);
  } finally {
    await consumer.disconnect();
  }
  return ticks;
}

/**
 * Sends `count` records of `value` to a topic from the host (keys spread them over its partitions),
 * and returns how many partitions the topic has.
 */
export async function produceRecords(brokers: string, topic: string, count: number, value: Buffer): Promise<number> {
  const kafka = new Kafka({ clientId: 'stockify-e2e', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let sent = 0; sent < count; sent += 1000) {
      const messages = Array.from({ length: Math.min(1000, count - sent) }, (_, i) => ({ key: `e2e-${sent + i}`, value }));
      await producer.send({ topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).length;
  } finally {
    await admin.disconnect();
  }
}
