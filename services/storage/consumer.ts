// The storage consumer: enriched records → one PostgreSQL transaction per chunk of ≤ maxRows →
// offsets committed only after that transaction commits → Redis live state, best-effort.
// When PostgreSQL is slow or down the batch is held and retried with back-off while heartbeating:
// nothing is dropped, nothing is committed, and the consumer catches up when it is back.
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from '../core/log.ts';
import { RateLimitedLog } from '../core/log.ts';
import type { DeadLetter, EnrichedRecord } from '../core/messages.ts';
import { codec, SCHEMA_VERSION } from '../core/proto.ts';
import type { ShardActivity } from '../core/shard-process.ts';
import { type LiveWriter, liveUpdate, NewestUpdates } from './live.ts';
import type { StorageMetrics } from './metrics.ts';
import { addRecord, type BatchRows, batchSize, emptyBatch, TABLES } from './tables.ts';
import type { PgWriter } from './writer.ts';

export const MAX_ROWS_PER_TRANSACTION = 5_000;
/** Fetches wait at most this long for more data: with the row cap, bounds a batch in time. */
export const MAX_BATCH_WAIT_MS = 100;

const enrichedCodec = codec<EnrichedRecord>('EnrichedRecord');
const deadLetterCodec = codec<DeadLetter>('DeadLetter');

/** What the Shard status service reports. */
export class StorageStatus {
  rowsWritten = 0;
  lastTickMs = 0;
  errors = 0;
  databaseUp = true;
  readonly lag = new Map<number, number>();
  private readonly window: { at: number; rows: number }[] = [];

  recordWrite(rows: number, lastTickMs: number, now = Date.now()): void {
    this.rowsWritten += rows;
    if (lastTickMs > this.lastTickMs) this.lastTickMs = lastTickMs;
    this.window.push({ at: now, rows });
    while (this.window.length > 0 && (this.window[0]?.at ?? now) < now - 10_000) this.window.shift();
  }

  rowsPerSecond(now = Date.now()): number {
    const recent = this.window.filter((w) => w.at >= now - 10_000);
    return recent.reduce((a, w) => a + w.rows, 0) / 10;
  }

  totalLag(): number {
    let sum = 0;
    for (const v of this.lag.values()) sum += v;
    return sum;
  }

  /** This shard's part of stockify.v1.Shard status. */
  activity(instruments: number): ShardActivity {
    return {
      instruments,
      ticksPerSecond: this.rowsPerSecond(),
      lastTickMs: this.lastTickMs,
      connectionState: this.databaseUp ? 'CONNECTED' : 'DATABASE_UNAVAILABLE',
      lag: this.totalLag(),
      errors: this.errors,
    };
  }
}

export interface ConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  dlqTopic: string;
  writer: PgWriter;
  live: LiveWriter;
  metrics: StorageMetrics;
  status: StorageStatus;
  log: Logger;
  maxRows?: number;
  /** Partitions handled at once (each with its own transaction). */
  concurrency?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Partitions a storage process writes at once (each in its own transaction), by default. */
export const STORAGE_CONCURRENCY = 3;

export const storageConsumer = (groupId: string): ConsumerConfig => ({
  groupId,
  maxWaitTimeInMs: MAX_BATCH_WAIT_MS,
  // Short session: a killed replica's partitions move on quickly; a held batch heartbeats.
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  maxBytesPerPartition: 4 * 1024 * 1024,
});

export class StorageConsumer {
  private readonly o: ConsumerOptions;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly limited: RateLimitedLog;
  private running = false;

  constructor(o: ConsumerOptions) {
    this.o = o;
    this.consumer = o.kafka.consumer(storageConsumer(o.groupId));
    this.producer = o.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    this.limited = new RateLimitedLog(o.log, 10_000);
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.running = false;
      this.o.log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.running = true;
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.concurrency ?? STORAGE_CONCURRENCY,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  private async eachBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { metrics, status } = this.o;
    const max = this.o.maxRows ?? MAX_ROWS_PER_TRANSACTION;
    const messages = batch.messages;
    // While chunk n is being written, chunk n+1 is decoded (in slices, between the write's I/O).
    // Offsets are still committed chunk by chunk, in order, each after its own transaction.
    let next: Promise<PreparedChunk> | undefined = prepareChunk(messages.slice(0, max), batch.topic, batch.partition);
    for (let start = 0; start < messages.length; start += max) {
      if (!isRunning() || isStale() || next === undefined) return;
      const { chunk, rows, updates, dead, lastTickMs } = await next;
      next =
        start + max < messages.length
          ? prepareChunk(messages.slice(start + max, start + 2 * max), batch.topic, batch.partition)
          : undefined;

      // Hold the chunk until PostgreSQL takes it (never skip it, never commit past it).
      const started = process.hrtime.bigint();
      let deadSent = dead.length === 0;
      for (let attempt = 0; ; attempt++) {
        if (!isRunning() || isStale()) return;
        try {
          if (!deadSent) {
            await this.sendDeadLetters(dead);
            deadSent = true;
          }
          const result = await this.o.writer.write(rows);
          for (const t of TABLES) {
            metrics.rowsOffered.inc({ table: t }, result.offered[t]);
            metrics.rowsWritten.inc({ table: t }, result.written[t]);
          }
          break;
        } catch (err) {
          status.errors += 1;
          status.databaseUp = false;
          metrics.dbErrors.inc({ operation: 'write_batch' });
          this.limited.warn(
            'db-write',
            { err, attempt, rows: batchSize(rows), partition: batch.partition },
            'batch not written; holding it and retrying',
          );
          await sleep(Math.min(100 * 2 ** attempt, 5_000));
          try {
            await heartbeat();
          } catch (hbErr) {
            // Rebalance: give the partition up uncommitted; its next owner writes it (idempotently).
            this.o.log.warn({ err: hbErr }, 'heartbeat failed while holding a batch; leaving it to the next owner');
            return;
          }
        }
      }
      status.databaseUp = true;
      metrics.batchRows.observe(batchSize(rows));
      metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      metrics.badRecords.inc(dead.length);
      status.recordWrite(batchSize(rows), lastTickMs);

      const last = chunk[chunk.length - 1];
      if (!last) continue;
      await this.consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
      resolveOffset(last.offset);
      await this.publishLive(updates);
      await heartbeat();
    }
    const lag = Number(batch.offsetLag());
    status.lag.set(batch.partition, lag);
    metrics.consumerLag.set({ partition: String(batch.partition) }, lag);
  }

  private async sendDeadLetters(dead: DeadLetter[]): Promise<void> {
    await this.producer.send({
      topic: this.o.dlqTopic,
      messages: dead.map((d) => ({ key: d.instrumentId || null, value: deadLetterCodec.encode(d) })),
    });
    this.limited.warn('dead-letter', { count: dead.length, reason: dead[0]?.reason }, 'records sent to the dead-letter topic');
  }

  /** Best-effort: a Redis failure is counted and logged, never retried against the history write. */
  private async publishLive(newest: NewestUpdates): Promise<void> {
    if (newest.size === 0) return;
    const updates = newest.values();
    try {
      const res = await this.o.live.apply(updates);
      this.o.metrics.liveUpdates.inc(res.applied);
      if (res.failed > 0) {
        this.o.metrics.redisErrors.inc({ operation: 'set_latest' }, res.failed);
        this.limited.warn('redis', { failed: res.failed }, 'live updates not applied (Redis unavailable?)');
      }
    } catch (err) {
      this.o.metrics.redisErrors.inc({ operation: 'set_latest' }, updates.length);
      this.limited.warn('redis', { err }, 'live updates not applied (Redis unavailable?)');
    }
  }
}

interface PreparedChunk {
  chunk: KafkaMessage[];
  rows: BatchRows;
  updates: NewestUpdates;
  dead: DeadLetter[];
  lastTickMs: number;
}

/** Messages decoded per turn of the event loop, so a write in flight keeps making progress. */
const DECODE_SLICE = 500;
const yieldToIo = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Decodes one chunk into rows, live updates and dead letters. Never rejects: bad records become dead letters. */
async function prepareChunk(chunk: KafkaMessage[], topic: string, partition: number): Promise<PreparedChunk> {
  const rows = emptyBatch();
  const updates = new NewestUpdates();
  const dead: DeadLetter[] = [];
  let lastTickMs = 0;
  for (let i = 0; i < chunk.length; i++) {
    if (i % DECODE_SLICE === 0) await yieldToIo();
    const m = chunk[i] as KafkaMessage;
    try {
      if (!m.value) throw new Error('empty message value');
      const r = enrichedCodec.decode(m.value);
      addRecord(rows, r);
      const u = liveUpdate(r);
      if (u) {
        updates.offer(u);
        if (u.timeMs > lastTickMs) lastTickMs = u.timeMs;
      }
    } catch (err) {
      dead.push({
        schemaVersion: SCHEMA_VERSION,
        stage: 'storage',
        reason: (err as Error).message,
        source: '',
        instrumentId: m.key?.toString() ?? '',
        payload: m.value ?? Buffer.alloc(0),
        timeMs: Date.now(),
        originTopic: topic,
        originPartition: partition,
        originOffset: m.offset,
      });
    }
  }
  return { chunk, rows, updates, dead, lastTickMs };
}
