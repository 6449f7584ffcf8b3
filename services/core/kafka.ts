// Kafka plumbing shared by every component: a client that logs through pino, and topics created or
// grown on purpose (auto-creation is off on our brokers). Topic names live in topics.ts.
import { type Admin, Kafka, type KafkaConfig, type LogEntry, logLevel } from 'kafkajs';
import './kafka-request-queue.ts';
import type { Logger } from './log.ts';
import type { TopicSpec } from './topics.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(brokers: string[], clientId: string, log: Logger, extra: Partial<KafkaConfig> = {}): Kafka {
  const kafkaLog = log.child({ lib: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        kafkaLog[LEVELS[level] ?? 'info'](rest, message);
      },
    ...extra,
  });
}

/**
 * Creates each topic if missing and grows its partitions if it has fewer (never shrinks). Several
 * processes may race to do the same (every component ensures its own topics): losing such a race
 * is fine as long as the topics end up at least as large as asked.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<{ created: string[]; grown: string[] }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createOrGrow(admin, specs);
    } catch (err) {
      // Lost a race to another process, or the broker's metadata still lags behind a topic just
      // created (a freshly started broker answers "does not host this topic-partition"): look again.
      const short = await missingOrSmaller(admin, specs).catch((e: unknown) => (isRetriable(e) ? undefined : Promise.reject(e)));
      if (short?.length === 0) return { created: [], grown: [] };
      if (attempt >= 8 || !isRetriable(err)) {
        throw new Error(`cannot create or grow Kafka topics ${specs.map((s) => s.topic).join(', ')}: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

/** kafkajs marks transient broker errors retriable; an aggregate error is retriable if a part is. */
function isRetriable(err: unknown): boolean {
  const e = err as { retriable?: boolean; errors?: unknown[]; message?: string } | undefined;
  if (e?.retriable === true) return true;
  if (Array.isArray(e?.errors) && e.errors.some(isRetriable)) return true;
  return /does not host this topic-partition|leader not available|not the leader/i.test(e?.message ?? '');
}

async function partitionCounts(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  if (topics.length === 0) return new Map();
  const meta = await admin.fetchTopicMetadata({ topics });
  return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
}

async function missingOrSmaller(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const present = specs.filter((s) => existing.has(s.topic));
  const counts = await partitionCounts(
    admin,
    present.map((s) => s.topic),
  );
  return specs.filter((s) => (counts.get(s.topic) ?? 0) < s.partitions).map((s) => s.topic);
}

async function createOrGrow(admin: Admin, specs: readonly TopicSpec[]): Promise<{ created: string[]; grown: string[] }> {
  const existing = new Set(await admin.listTopics());
  const toCreate = specs.filter((s) => !existing.has(s.topic));
  const created: string[] = [];
  const grown: string[] = [];
  if (toCreate.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: toCreate.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor: s.replicationFactor })),
    });
    created.push(...toCreate.map((s) => s.topic));
  }
  const present = specs.filter((s) => existing.has(s.topic));
  const counts = await partitionCounts(
    admin,
    present.map((s) => s.topic),
  );
  const increase = present.filter((s) => (counts.get(s.topic) ?? s.partitions) < s.partitions);
  if (increase.length > 0) {
    await admin.createPartitions({ topicPartitions: increase.map((s) => ({ topic: s.topic, count: s.partitions })) });
    grown.push(...increase.map((s) => s.topic));
  }
  return { created, grown };
}
