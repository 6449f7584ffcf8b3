// Memory footprint of each component process, the figures behind the default resources the
// operator gives every container (operator/desired/resources.ts): peak resident set (VmHWM) of the
// real processes launched from the builders (the e2e bench's launcher, one shard, 50 equities,
// start-up included), once nearly idle (the simulator at 1 tick/s) and once at 1,000 ticks/s; the
// gateway idle beside them; a bare `node` as the reference of the same run. Prints a table and writes
// .local/bench/footprint.json.
//   node tests/bench/operator/footprint.ts     (KAFKA_BROKERS, DATABASE_URL, REDIS_URL)
//   FOOTPRINT_SECONDS (30)  seconds of each run
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DEFAULT_RESOURCES, quantityValue } from '../../../operator/desired/resources.ts';
import { createKafka } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import { consumerGroup } from '../../../services/core/topics.ts';
import {
  BENCH_NAMESPACE,
  benchFeed,
  type Child,
  createFeedTopics,
  type LaunchOptions,
  launch,
  planFeed,
  readPeakRss,
  samplePeakRss,
  stopChild,
  waitReady,
} from '../e2e/processes.ts';

const SECONDS = Number(process.env.FOOTPRINT_SECONDS ?? 30);
const need = (name: string): string => {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`config: ${name} is not set\n`);
    process.exit(2);
  }
  return v;
};
const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak RSS of a child process sampled every 250 ms for `ms` after it started, MiB. */
async function peakOf(args: string[], env: NodeJS.ProcessEnv, ms: number): Promise<number> {
  const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let peak = 0;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && child.exitCode === null) {
    peak = Math.max(peak, readPeakRss(child.pid));
    await sleep(250);
  }
  peak = Math.max(peak, readPeakRss(child.pid));
  child.kill('SIGTERM');
  await exited;
  return mib(peak);
}

const env = {
  brokers: need('KAFKA_BROKERS'),
  databaseUrl: need('DATABASE_URL'),
  redisUrl: need('REDIS_URL'),
  log: createLogger({ component: 'footprint-bench', level: 'error' }),
  dir: mkdtempSync(join(tmpdir(), 'stockify-footprint-')),
};

/** One shard's storage, processor and ingestion (the simulator at `ticksPerSecond`) for SECONDS: peak RSS of each, MiB. */
async function pipeline(tag: string, ticksPerSecond: number): Promise<{ peak: Record<string, number>; ticks: number }> {
  const stamp = Date.now().toString(36);
  const feedName = `footprint-${tag}-${stamp}`;
  const schema = `footprint_${tag}_${stamp}`;
  const feed = benchFeed({ name: feedName, ticksPerSecond, instruments: 50, brokers: env.brokers, redisUrl: env.redisUrl });
  const opts: LaunchOptions = {
    feed,
    env: {
      ...process.env,
      KAFKA_BROKERS: env.brokers,
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      DB_SCHEMA: schema,
      LOG_LEVEL: 'warn',
    },
    dir: join(env.dir, feedName),
  };
  const topics = await createFeedTopics(feed, env.brokers, env.log);
  const planned = await planFeed(opts);
  const children: Child[] = [];
  const sampler = setInterval(() => samplePeakRss(children), 250);
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 1 });
  try {
    for (const component of ['storage', 'processor', 'ingestion'] as const) {
      const entry = planned.find((p) => p.plan.component === component);
      if (!entry) throw new Error(`the builders gave no ${component} process`);
      const child = launch(entry, opts);
      children.push(child);
      await waitReady(child);
    }
    await sleep(SECONDS * 1000);
    samplePeakRss(children);
    const rows = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".ticks`);
    return {
      peak: Object.fromEntries(children.map((c) => [c.component, mib(c.peakRssBytes)])),
      ticks: Number(rows.rows[0]?.n ?? 0),
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(children.map((c) => stopChild(c)));
    const admin = createKafka(env.brokers.split(','), 'stockify-footprint', env.log).admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin
      .deleteGroups([
        consumerGroup('processor', BENCH_NAMESPACE, feedName, 0),
        consumerGroup('storage', BENCH_NAMESPACE, feedName, 0),
      ])
      .catch(() => undefined);
    await admin.disconnect();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

const nodeReference = await peakOf(['-e', 'setTimeout(() => {}, 2000)'], process.env, 1_500);
const idle = await pipeline('idle', 1);
const loaded = await pipeline('load', 1_000);
const gateway = await peakOf(
  ['services/stockify.js', 'gateway'],
  {
    ...process.env,
    FEED_NAME: 'footprint',
    FEED_NAMESPACE: 'bench',
    HTTP_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'error',
    REDIS_URL: env.redisUrl,
  },
  SECONDS * 1000,
);

const rows = (['ingestion', 'processor', 'storage', 'gateway'] as const).map((component) => {
  const d = DEFAULT_RESOURCES[component];
  const peak = component === 'gateway' ? gateway : (loaded.peak[component] ?? Number.NaN);
  const limitMiB = mib(quantityValue(d.limits.memory ?? '0'));
  return {
    component,
    idleMiB: component === 'gateway' ? gateway : (idle.peak[component] ?? Number.NaN),
    at1000MiB: component === 'gateway' ? null : peak,
    requestMiB: mib(quantityValue(d.requests.memory ?? '0')),
    limitMiB,
    limitOverPeak: Math.round((limitMiB / peak) * 100) / 100,
  };
});
const result = {
  at: new Date().toISOString(),
  seconds: SECONDS,
  nodeReferenceMiB: nodeReference,
  storedTicksPerSecond: Math.round(loaded.ticks / SECONDS),
  rows,
};
mkdirSync('.local/bench', { recursive: true });
writeFileSync('.local/bench/footprint.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `peak RSS (VmHWM), MiB; reference node -e 0: ${nodeReference} MiB; load ${result.storedTicksPerSecond} tick rows/s stored (simulator set to 1,000/s)\n`,
);
process.stdout.write('component   idle    1000/s   request  limit   limit/peak\n');
for (const r of rows) {
  process.stdout.write(
    `${r.component.padEnd(10)}  ${String(r.idleMiB).padStart(6)}  ${String(r.at1000MiB ?? '—').padStart(7)}  ${String(r.requestMiB).padStart(7)}  ${String(r.limitMiB).padStart(6)}  ${r.limitOverPeak}\n`,
  );
}
if (rows.some((r) => !(r.limitOverPeak >= 2))) {
  process.stderr.write('a default memory limit is below 2× its measured peak\n');
  process.exitCode = 1;
}
