// End to end on this machine: ingestion → Kafka → processor → Kafka → storage as the real
// processes (`node services/stockify.js <component>`, launched from the operator's builders like
// `stockify up`), one shard, a fresh feed and a fresh DB_SCHEMA per phase.
//   throughput: ingestion --as-fast-as-possible --limit N; sustained rate = stored tick rows / time,
//     and zero loss: ticks Kafka acknowledged to ingestion = distinct tick rows stored.
//   latency: the real-time simulator at a fixed offered load; tick-to-stream from Redis live:<id>
//     messages, tick-to-row from an insert-time column added to the bench schema's ticks table.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createKafka } from '../../../services/core/kafka.ts';
import type { Logger } from '../../../services/core/log.ts';
import type { EnrichedRecord, RawRecord, Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { consumerGroup, enrichedTopic, rawTopic } from '../../../services/core/topics.ts';
import { qualified } from '../../../services/storage/migrations.ts';
import {
  BENCH_NAMESPACE,
  benchFeed,
  benchInstrumentIds,
  type Child,
  createFeedTopics,
  type LaunchOptions,
  launch,
  metric,
  planFeed,
  publishedFromLog,
  readServiceCpu,
  type Service,
  samplePeakRss,
  stopChild,
  waitReady,
} from './processes.ts';

export interface E2eEnv {
  brokers: string;
  databaseUrl: string;
  redisUrl: string;
  log: Logger;
  /** Directory for shard files and logs of the children. */
  dir: string;
  cpuProfDir?: string;
}

export interface Percentiles {
  samples: number;
  p50: number;
  p99: number;
  p999: number;
}

export interface ThroughputResult {
  limit: number;
  sent: number;
  stored: number;
  distinctStored: number;
  lost: number;
  seconds: number;
  ticksPerSecond: number;
  peakRssMiB: Record<string, number>;
  /**
   * CPU time (user + system, from /proc) per stored tick of each process while the ticks flowed:
   * the cost of a tick that a loaded machine does not distort the way it distorts the rate.
   * Ingestion's includes its start-up (~0.5 s of CPU).
   */
  cpuUsPerTick: Record<string, number>;
}

export interface LatencyResult {
  offeredTicksPerSecond: number;
  /** Ticks the simulator generated per second in the counted window (its volume profile varies the rate). */
  generatedTicksPerSecond: number;
  seconds: number;
  tickToRowMs: Percentiles;
  tickToStreamMs: Percentiles;
  /**
   * Per hop, with `hops` only: the Kafka timestamp (set by the producer when it sends) of the raw
   * and of the enriched record of every tenth tick. The tap costs CPU on the same cores, so it is a
   * diagnosis, not the headline figures.
   */
  tickToRawMs?: Percentiles;
  tickToEnrichedMs?: Percentiles;
  peakRssMiB: Record<string, number>;
}

const INSTRUMENTS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;

export function percentiles(values: number[]): Percentiles {
  const s = Float64Array.from(values).sort();
  const at = (q: number) => (s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number));
  return { samples: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}

interface Run {
  feedName: string;
  schema: string;
  children: Child[];
  topics: string[];
  rss: NodeJS.Timeout;
}

async function start(
  env: E2eEnv,
  tag: string,
  ticksPerSecond: number,
  extra: LaunchOptions['extraArgs'],
): Promise<Run & { opts: LaunchOptions; planned: Awaited<ReturnType<typeof planFeed>> }> {
  const stamp = Date.now().toString(36);
  const feedName = `bench-${tag}-${stamp}`;
  const schema = `bench_${tag}_${stamp}`;
  const feed = benchFeed({
    name: feedName,
    ticksPerSecond,
    instruments: INSTRUMENTS,
    brokers: env.brokers,
    redisUrl: env.redisUrl,
  });
  const opts: LaunchOptions = {
    feed,
    env: {
      ...process.env,
      KAFKA_BROKERS: env.brokers,
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      DB_SCHEMA: schema,
      LOG_LEVEL: 'info',
    },
    dir: join(env.dir, feedName),
    ...(extra ? { extraArgs: extra } : {}),
    ...(env.cpuProfDir ? { cpuProfDir: join(env.cpuProfDir, tag) } : {}),
  };
  const topics = await createFeedTopics(feed, env.brokers, env.log);
  const planned = await planFeed(opts);
  const children: Child[] = [];
  const rss = setInterval(() => samplePeakRss(children), 250);
  // Consumers first (storage migrates the schema), ingestion once both are ready.
  for (const component of ['storage', 'processor'] as const) {
    const entry = planned.find((p) => p.plan.component === component);
    if (!entry) throw new Error(`the builders gave no ${component} process`);
    const child = launch(entry, opts);
    children.push(child);
  }
  try {
    await Promise.all(children.map((c) => waitReady(c)));
  } catch (err) {
    clearInterval(rss);
    await Promise.all(children.map((c) => stopChild(c, 2_000)));
    throw err;
  }
  return { feedName, schema, children, topics, rss, opts, planned };
}

function startIngestion(run: Awaited<ReturnType<typeof start>>): Child {
  const entry = run.planned.find((p) => p.plan.component === 'ingestion');
  if (!entry) throw new Error('the builders gave no ingestion process');
  const child = launch(entry, run.opts);
  run.children.push(child);
  return child;
}

async function finish(env: E2eEnv, run: Run, pool: pg.Pool): Promise<Record<string, number>> {
  samplePeakRss(run.children);
  await Promise.all(run.children.map((c) => stopChild(c)));
  clearInterval(run.rss);
  const peak: Record<string, number> = {};
  for (const c of run.children) peak[c.component] = mib(c.peakRssBytes);
  await cleanUp(env, run, pool);
  return peak;
}

async function cleanUp(env: E2eEnv, run: Run, pool: pg.Pool): Promise<void> {
  const admin = createKafka(env.brokers.split(','), 'stockify-bench-e2e', env.log).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: run.topics }).catch(() => undefined);
  await admin
    .deleteGroups([
      consumerGroup('processor', BENCH_NAMESPACE, run.feedName, 0),
      consumerGroup('storage', BENCH_NAMESPACE, run.feedName, 0),
    ])
    .catch(() => undefined);
  await admin.disconnect();
  await pool.query(`DROP SCHEMA IF EXISTS "${run.schema}" CASCADE`);
  await pool.query(`DELETE FROM partman.part_config WHERE parent_table LIKE $1`, [`${run.schema}.%`]).catch(() => undefined);
  const templates = await pool
    .query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relnamespace = 'partman'::regnamespace AND relname LIKE $1`, [
      `template_${run.schema}_%`,
    ])
    .catch(() => ({ rows: [] as { relname: string }[] }));
  for (const t of templates.rows) await pool.query(`DROP TABLE IF EXISTS partman."${t.relname}"`);
  const redis = new Redis(env.redisUrl);
  await redis.del(...benchInstrumentIds(INSTRUMENTS).map((id) => `latest:${id}`));
  redis.disconnect();
}

async function countTicks(pool: pg.Pool, schema: string): Promise<{ rows: number; distinct: number }> {
  const r = await pool.query<{ rows: string; distinct: string }>(
    `SELECT count(*) AS rows, count(DISTINCT (instrument_id, seq)) AS distinct FROM ${qualified(schema, 'ticks')}`,
  );
  return { rows: Number(r.rows[0]?.rows ?? 0), distinct: Number(r.rows[0]?.distinct ?? 0) };
}

/** N simulated ticks as fast as ingestion can send them; stored rows per second and zero loss. */
export async function runThroughput(env: E2eEnv, limit: number): Promise<ThroughputResult> {
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  const run = await start(env, 'tput', 50_000, {
    ingestion: ['--as-fast-as-possible', '--limit', String(limit), '--exit-when-done'],
  });
  try {
    const storage = run.children.find((c) => c.component === 'storage') as Child;
    samplePeakRss(run.children);
    const cpuBefore = new Map(run.children.map((c) => [c.component, c.cpuSeconds]));
    const servicesBefore = readServiceCpu();
    const ingestion = startIngestion(run);
    const tickRows = async () => (await metric(storage, 'stockify_storage_rows_written_total', { table: 'ticks' })) ?? 0;
    // The rate is taken between the first and the last stored rows seen (polled every 100 ms).
    let first: { at: number; rows: number } | undefined;
    let last = { at: performance.now(), rows: 0 };
    let ingestionDone = false;
    void ingestion.exited.then(() => {
      ingestionDone = true;
    });
    const deadline = Date.now() + 600_000;
    for (;;) {
      const rows = await tickRows();
      const now = performance.now();
      if (rows > 0 && !first) first = { at: now, rows };
      if (rows > last.rows) last = { at: now, rows };
      if (rows >= limit) break;
      // No progress for 30 s after ingestion finished: whatever is missing is lost.
      if (ingestionDone && now - last.at > 30_000) break;
      if (Date.now() > deadline) throw new Error(`end to end: ${rows} of ${limit} ticks stored after 10 minutes`);
      await sleep(100);
    }
    const servicesAfter = readServiceCpu();
    const code = await ingestion.exited;
    if (code !== 0) throw new Error(`ingestion exited with ${code}; see ${ingestion.logFile}`);
    const sent = publishedFromLog(ingestion.logFile);
    if (sent === undefined) throw new Error(`ingestion logged no published count; see ${ingestion.logFile}`);
    const counted = await countTicks(pool, run.schema);
    const seconds = first ? (last.at - first.at) / 1000 : Number.NaN;
    const ticksPerSecond = first ? (last.rows - first.rows) / seconds : 0;
    samplePeakRss(run.children);
    const perTick = (cpuSeconds: number) => Math.round(((cpuSeconds * 1e6) / Math.max(1, counted.distinct)) * 10) / 10;
    const cpuUsPerTick = Object.fromEntries(
      run.children.map((c) => [c.component, perTick(c.cpuSeconds - (cpuBefore.get(c.component) ?? 0))]),
    );
    for (const service of Object.keys(servicesAfter.services) as Service[]) {
      cpuUsPerTick[service] = perTick(servicesAfter.services[service] - servicesBefore.services[service]);
    }
    cpuUsPerTick['whole machine (every core)'] = perTick(servicesAfter.machineBusy - servicesBefore.machineBusy);
    const peakRssMiB = await finish(env, run, pool);
    return {
      limit,
      sent,
      stored: counted.rows,
      distinctStored: counted.distinct,
      lost: sent - counted.distinct,
      seconds,
      ticksPerSecond,
      peakRssMiB,
      cpuUsPerTick,
    };
  } catch (err) {
    await finish(env, run, pool).catch(() => undefined);
    throw err;
  } finally {
    await pool.end();
  }
}

/** The real-time simulator at `ticksPerSecond` for `seconds`; the first `warmupSeconds` are not counted. */
export async function runLatency(
  env: E2eEnv,
  ticksPerSecond: number,
  seconds: number,
  warmupSeconds = 5,
  hops = false,
): Promise<LatencyResult> {
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  const run = await start(env, 'lat', ticksPerSecond, undefined);
  const sub = new Redis(env.redisUrl);
  const tap = hops ? latencyTap(env, run.feedName) : undefined;
  try {
    // Tick-to-row: the time each row is inserted, in a column only the bench schema has (the
    // writer names its columns, so the default applies; the row commits with its batch). Added
    // without a default, then given one: TimescaleDB (2.28) refuses ADD COLUMN with a volatile
    // default on a hypertable with columnstore enabled (it would have to fill compressed chunks),
    // while SET DEFAULT touches no stored row, and every row of the counted window comes after it.
    const ticks = qualified(run.schema, 'ticks');
    await pool.query(`ALTER TABLE ${ticks} ADD COLUMN bench_inserted_at timestamptz`);
    await pool.query(`ALTER TABLE ${ticks} ALTER COLUMN bench_inserted_at SET DEFAULT clock_timestamp()`);
    const ids = new Set(benchInstrumentIds(INSTRUMENTS));
    const snapshotCodec = codec<Snapshot>('Snapshot');
    const stream: { receivedMs: number; ms: number }[] = [];
    let countFromMs = Number.POSITIVE_INFINITY;
    sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => {
      const now = Date.now();
      if (!ids.has(channel.toString().slice('live:'.length))) return;
      const snap = snapshotCodec.decode(message);
      if (snap.payload !== 'tick' || snap.tick.receivedTimeMs < countFromMs) return;
      stream.push({ receivedMs: snap.tick.receivedTimeMs, ms: now - snap.tick.receivedTimeMs });
    });
    await sub.psubscribe('live:*');
    // Where the time goes: a tap on the raw and enriched topics reads the Kafka timestamp of every
    // tenth tick (decoding them all would take CPU from the pipeline it measures).
    const hop = { raw: [] as number[], enriched: [] as number[] };
    const rawCodec = codec<RawRecord>('RawRecord');
    const enrichedCodec = codec<EnrichedRecord>('EnrichedRecord');
    const raw = rawTopic(BENCH_NAMESPACE, run.feedName, 0);
    if (tap) {
      await tap.consumer.connect();
      await tap.consumer.subscribe({ topics: [raw, enrichedTopic(BENCH_NAMESPACE, run.feedName, 0)], fromBeginning: true });
      await tap.consumer.run({
        eachMessage: async ({ topic, message }) => {
          if (!message.value || Number(message.offset) % 10 !== 0) return;
          const r = topic === raw ? rawCodec.decode(message.value) : enrichedCodec.decode(message.value);
          if (r.payload !== 'tick' || r.tick.receivedTimeMs < countFromMs) return;
          (topic === raw ? hop.raw : hop.enriched).push(Number(message.timestamp) - r.tick.receivedTimeMs);
        },
      });
    }
    const ingestion = startIngestion(run);
    await waitReady(ingestion);
    countFromMs = Date.now() + warmupSeconds * 1000;
    await sleep((warmupSeconds + seconds) * 1000);
    const countToMs = Date.now();
    await stopChild(ingestion);
    // Every tick ingestion published reaches the table (and then the stream) before counting.
    const published = publishedFromLog(ingestion.logFile) ?? 0;
    const storage = run.children.find((c) => c.component === 'storage') as Child;
    const drainBy = Date.now() + 180_000;
    while (((await metric(storage, 'stockify_storage_rows_written_total', { table: 'ticks' })) ?? 0) < published) {
      if (Date.now() > drainBy) break;
      await sleep(200);
    }
    await sleep(2_000);
    await sub.punsubscribe();
    await tap?.consumer.stop();
    const rows = await pool.query<{ ms: number }>(
      `SELECT (extract(epoch FROM bench_inserted_at - received_time) * 1000)::float8 AS ms FROM ${qualified(run.schema, 'ticks')}
       WHERE received_time >= to_timestamp($1 / 1000.0) AND received_time < to_timestamp($2 / 1000.0)`,
      [countFromMs, countToMs],
    );
    const peakRssMiB = await finish(env, run, pool);
    return {
      offeredTicksPerSecond: ticksPerSecond,
      generatedTicksPerSecond: rows.rows.length / ((countToMs - countFromMs) / 1000),
      seconds,
      tickToRowMs: percentiles(rows.rows.map((r) => r.ms)),
      tickToStreamMs: percentiles(stream.filter((s) => s.receivedMs < countToMs).map((s) => s.ms)),
      ...(tap ? { tickToRawMs: percentiles(hop.raw), tickToEnrichedMs: percentiles(hop.enriched) } : {}),
      peakRssMiB,
    };
  } catch (err) {
    await finish(env, run, pool).catch(() => undefined);
    throw err;
  } finally {
    sub.disconnect();
    await tap?.close();
    await pool.end();
  }
}

/** A consumer of its own group for the latency tap, and its clean-up (disconnect, group deleted). */
function latencyTap(env: E2eEnv, feedName: string) {
  const kafka = createKafka(env.brokers.split(','), 'stockify-bench-latency-tap', env.log);
  const groupId = `stockify-bench-latency-tap-${feedName}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  return {
    consumer,
    async close(): Promise<void> {
      await consumer.disconnect().catch(() => undefined);
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
