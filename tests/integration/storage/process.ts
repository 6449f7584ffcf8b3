// Runs `stockify storage` as a child process for tests, with the shard file, ports and schema it needs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { Partitioners } from 'kafkajs';
import { createKafka, ensureTopics } from '../../../services/core/kafka.ts';
import type { EnrichedRecord } from '../../../services/core/messages.ts';
import { codec, serviceClient } from '../../../services/core/proto.ts';
import { enrichedTopic } from '../../../services/core/topics.ts';
import { KAFKA_BROKERS, quietLog, REDIS_URL } from './helpers.ts';

const CLI = fileURLToPath(new URL('../../../services/cli.ts', import.meta.url));
const enriched = codec<EnrichedRecord>('EnrichedRecord');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Feed {
  feed: string;
  namespace: string;
  topic: string;
  dir: string;
  shardFile: string;
  cleanup(): void;
}

export async function createFeed(feed: string, partitions = 3): Promise<Feed> {
  const namespace = 'storage-test';
  const dir = mkdtempSync(join(tmpdir(), 'stockify-storage-'));
  const shardFile = join(dir, 'shard.json');
  writeFileSync(
    shardFile,
    JSON.stringify({
      feed,
      namespace,
      shard: 0,
      shardCount: 1,
      source: { type: 'simulator' },
      kafka: { partitionsPerShard: partitions, replicationFactor: 1 },
      retentionDays: 30,
      instruments: [{ symbol: 'NIFTY', securityId: '13', segment: 'IDX_I' }],
    }),
  );
  const topic = enrichedTopic(namespace, feed, 0);
  const admin = createKafka(KAFKA_BROKERS.split(','), 'storage-test-admin', quietLog).admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, partitions, replicationFactor: 1 }]);
  await admin.disconnect();
  return {
    feed,
    namespace,
    topic,
    dir,
    shardFile,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Deletes the feed's topics (enriched and dead-letter). */
export async function deleteTopics(f: Feed): Promise<void> {
  const admin = createKafka(KAFKA_BROKERS.split(','), 'storage-test-admin', quietLog).admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const topics = [f.topic, `market.dlq.${f.namespace}.${f.feed}`].filter((t) => existing.has(t));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await admin.disconnect();
}

export async function produce(topic: string, records: readonly EnrichedRecord[]): Promise<void> {
  const producer = createKafka(KAFKA_BROKERS.split(','), 'storage-test-producer', quietLog).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const key = (r: EnrichedRecord): string =>
    r.payload === 'tick'
      ? r.tick.instrument.id
      : r.payload === 'optionQuote'
        ? r.optionQuote.meta.underlying
        : r.payload === 'bar'
          ? r.bar.instrumentId
          : r.payload === 'gex'
            ? r.gex.underlyingId
            : `gap:${r.gap.shard}`;
  for (let i = 0; i < records.length; i += 500) {
    await producer.send({
      topic,
      messages: records.slice(i, i + 500).map((r) => ({ key: key(r), value: enriched.encode(r) })),
    });
  }
  await producer.disconnect();
}

export interface StorageProcess {
  child: ChildProcess;
  grpcPort: number;
  metricsPort: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startStorage(
  f: Feed,
  opts: { schema: string; databaseUrl: string; env?: Record<string, string>; grpcPort?: number },
): Promise<StorageProcess> {
  const grpcPort = opts.grpcPort ?? (await freePort());
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [CLI, 'storage'], {
    env: {
      ...process.env,
      KAFKA_BROKERS,
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL,
      FEED_NAME: f.feed,
      FEED_NAMESPACE: f.namespace,
      SHARD_INDEX: '0',
      SHARD_COUNT: '1',
      INSTRUMENTS_FILE: f.shardFile,
      GRPC_PORT: String(grpcPort),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      DB_SCHEMA: opts.schema,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    grpcPort,
    metricsPort,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
  );
}

export function marketDataClient(port: number): grpc.Client & Record<string, grpc.MethodDefinition<unknown, unknown> | unknown> {
  const Ctor = serviceClient('MarketData');
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, unknown>;
}

/** Promisified unary call on a dynamic client. */
export function call<Res>(client: grpc.Client, method: string, req: unknown, deadlineMs = 10_000): Promise<Res> {
  const fn = (
    client as unknown as Record<
      string,
      (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: Res) => void) => void
    >
  )[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) =>
    fn.call(client, req, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res))),
  );
}
