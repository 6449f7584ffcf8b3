// The gap check of a starting ingestion process (gap.ts says why it is exact): note where the
// shard topic ended before this process published anything, wait for its first tick and for a
// live predecessor to publish past it, read the topic's tail written by other processes, and
// when there is a gap publish it as a RawRecord (storage keeps it in the gaps table, MarketData
// GetGaps and `stockify query gaps` show it), count it and log it.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Lifecycle } from '../core/lifecycle.ts';
import type { Logger } from '../core/log.ts';
import type { IngestionGap, RawRecord } from '../core/messages.ts';
import { codec, SCHEMA_VERSION } from '../core/proto.ts';
import { gapBefore, PRODUCER_HEADER, PredecessorTicks } from './gap.ts';
import type { GapEventRecorder } from './gap-event.ts';
import type { Sink, SourceName } from './source.ts';

const rawCodec = codec<RawRecord>('RawRecord');

/** Records before the start offset read per partition: the predecessor's last moments. */
const LOOKBACK_RECORDS = 5_000;
/** After our first tick: our own batch and a live predecessor's next ones reach Kafka. */
const SETTLE_MS = 5_000;
const READ_TIMEOUT_MS = 60_000;

/** A random id per process start: a restarted container is a new producer. */
export const newProducerId = (): string => randomUUID();

export interface GapCheckOptions {
  kafka: Kafka;
  topic: string;
  producerId: string;
  namespace: string;
  feed: string;
  shard: number;
  instrumentIds: readonly string[];
  source: SourceName;
  sink: Sink;
  /** Resolves with the exchange time of this process's first accepted tick. */
  firstTick: Promise<number>;
  registry: Registry;
  log: Logger;
  /** Records the gap as a Kubernetes Event too, when running in a cluster. */
  recordEvent?: GapEventRecorder;
}

export interface GapCheck {
  /** Resolves once the check has run (with the gap it recorded, if any), or was given up. */
  done: Promise<IngestionGap | undefined>;
}

/** Call before the source publishes anything: the topic's current end is where "before us" stops. */
export async function startGapCheck(o: GapCheckOptions, signal: AbortSignal): Promise<GapCheck> {
  const gaps = new Counter({
    name: 'stockify_ingestion_gaps_total',
    help: 'Gaps recorded at start: the previous process of this shard stopped publishing before this one began (no handover)',
    registers: [o.registry],
  });
  const gapSeconds = new Counter({
    name: 'stockify_ingestion_gap_seconds_total',
    help: 'Exchange time covered by recorded gaps, seconds',
    registers: [o.registry],
  });
  const admin = o.kafka.admin();
  await admin.connect();
  let start: Map<number, bigint>;
  try {
    start = new Map((await admin.fetchTopicOffsets(o.topic)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
  const done = (async (): Promise<IngestionGap | undefined> => {
    const firstMs = await Promise.race([
      o.firstTick,
      new Promise<undefined>((r) => signal.addEventListener('abort', () => r(undefined))),
    ]);
    if (firstMs === undefined) return undefined;
    await delay(SETTLE_MS, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return undefined;
    const seen = new PredecessorTicks(o.producerId, new Set(o.instrumentIds));
    await readTail(o.kafka, o.topic, start, seen, o.log);
    const window = gapBefore(seen.lastMs, firstMs);
    o.log.info({ predecessorLastMs: seen.lastMs ?? null, firstTickMs: firstMs, gap: window ?? null }, 'gap check done');
    if (!window) return undefined;
    const gap: IngestionGap = {
      namespace: o.namespace,
      feed: o.feed,
      shard: o.shard,
      instrumentIds: [...o.instrumentIds],
      fromMs: window.fromMs,
      toMs: window.toMs,
      detectedMs: Date.now(),
    };
    o.sink.emit({
      kind: 'record',
      source: o.source,
      key: `gap:${o.shard}`,
      record: { schemaVersion: SCHEMA_VERSION, payload: 'gap', gap },
    });
    gaps.inc();
    gapSeconds.inc((window.toMs - window.fromMs) / 1000);
    await o.recordEvent?.(gap);
    o.log.warn(
      {
        from: new Date(window.fromMs).toISOString(),
        to: new Date(window.toMs).toISOString(),
        instruments: o.instrumentIds.length,
      },
      'ticks may be missing: the previous process of this shard stopped before this one started (recorded as a gap)',
    );
    return gap;
  })().catch((err: unknown) => {
    o.log.error({ err }, 'gap check failed: a gap before this process, if any, is not recorded');
    return undefined;
  });
  return { done };
}

/**
 * Runs the check for a live source (Dhan: what the exchange sent while no process listened is
 * gone; simulator and replay have no such loss). Never fails the process: a check that cannot run
 * says so in one error line.
 */
export async function watchForGap(o: GapCheckOptions, lifecycle: Lifecycle): Promise<GapCheck | undefined> {
  if (o.source !== 'dhan') return undefined;
  const abort = new AbortController();
  lifecycle.onStop('gap check', () => abort.abort());
  try {
    return await startGapCheck(o, abort.signal);
  } catch (err) {
    o.log.error({ err }, 'gap check could not start: a gap before this process, if any, is not recorded');
    return undefined;
  }
}

/** Feeds `seen` every tick record from LOOKBACK_RECORDS before `start` up to the topic's end now. */
async function readTail(
  kafka: Kafka,
  topic: string,
  start: Map<number, bigint>,
  seen: PredecessorTicks,
  log: Logger,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let end: Map<number, bigint>;
  try {
    end = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
  const from = new Map<number, bigint>();
  for (const [p, high] of end) {
    const s = start.get(p) ?? 0n;
    const f = s > BigInt(LOOKBACK_RECORDS) ? s - BigInt(LOOKBACK_RECORDS) : 0n;
    if (f < high) from.set(p, f);
  }
  if (from.size === 0) return;
  const groupId = `stockify-gap-check-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    const remaining = new Set(from.keys());
    let finish!: () => void;
    const finished = new Promise<void>((r) => {
      finish = r;
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const high = end.get(batch.partition) ?? 0n;
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= high || !m.value) continue;
          const rec = rawCodec.decode(m.value);
          if (rec.payload !== 'tick') continue;
          const producer = m.headers?.[PRODUCER_HEADER];
          seen.see(rec.tick.instrument.id, rec.tick.exchangeTimeMs, producer === undefined ? undefined : String(producer));
        }
        if (BigInt(batch.lastOffset()) + 1n >= high) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    for (const [partition, offset] of from) consumer.seek({ topic, partition, offset: offset.toString() });
    const timer = new AbortController();
    const timedOut = await Promise.race([
      finished.then(() => false),
      delay(READ_TIMEOUT_MS, undefined, { signal: timer.signal }).then(
        () => true,
        () => false,
      ),
    ]);
    timer.abort();
    if (timedOut) throw new Error(`reading the tail of ${topic} did not finish in ${READ_TIMEOUT_MS / 1000} s`);
  } finally {
    await consumer.disconnect();
    const admin2 = kafka.admin();
    await admin2
      .connect()
      .then(() => admin2.deleteGroups([groupId]))
      .catch((err: unknown) => log.debug({ err }, 'could not delete the gap check consumer group'))
      .finally(() => admin2.disconnect());
  }
}
