// The gateway under load (issue 18 item 7): a real `stockify gateway` process over the real Redis,
// with a real `stockify storage` process behind its REST routes (MarketData over gRPC).
//   Fan-out: 1,000 WebSocket clients (a process of their own, receivers.ts) subscribe 10 instruments
//   each out of 100 (every instrument has 100 subscribers); quotes are published on Redis live:<id>
//   at a steady rate, each carrying its publish time, and every arrival is timed. Reference in the
//   same run: one plain ioredis subscriber on the same channels (publish → subscriber).
//   REST: GET /v1/latest of 10 instruments at 32 concurrent callers (autocannon, its own process).
//   Reference in the same run: a bare Fastify route returning the same JSON document.
// Gateway CPU and RSS come from /proc/<pid>. Targets: fan-out p99 ≤ 50 ms; latest ≥ 5,000 rps.
// Writes .local/bench/gateway.json.
//   node tests/bench/gateway/gateway.bench.ts     (KAFKA_BROKERS, DATABASE_URL, REDIS_URL)
//   BENCH_GATEWAY_CLIENTS (1000)  BENCH_GATEWAY_RATE (200 quotes/s, spread over 100 instruments)
//   BENCH_GATEWAY_SECONDS (15, fan-out window)  BENCH_GATEWAY_REST_SECONDS (8 per REST run)
//   BENCH_GATEWAY_PHASES (rest,ws)  BENCH_CPU_PROF=<dir>  the gateway runs under node --cpu-prof
// Ports: 32000 gateway, 32001/32002 storage gRPC/metrics, 32003 the bare Fastify reference.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { EnrichedRecord, Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { dropSchema, testPool, uniqueName } from '../../integration/storage/helpers.ts';
import { createFeed, deleteTopics, type Feed, produce, waitFor } from '../../integration/storage/process.ts';
import { rec, T0, tick } from '../../unit/storage/fixtures.ts';
import type { ReceiverReady, ReceiverReport } from './receivers.ts';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`config: ${name} must be a positive number, got '${v}'\n`);
    process.exit(2);
  }
  return n;
};
const CLIENTS = num('BENCH_GATEWAY_CLIENTS', 1000);
const PER_CLIENT = 10;
const UNIVERSE = 100;
const RATE = num('BENCH_GATEWAY_RATE', 200);
const SECONDS = num('BENCH_GATEWAY_SECONDS', 15);
const REST_SECONDS = num('BENCH_GATEWAY_REST_SECONDS', 8);
const REST_CALLERS = 32;
const PHASES = new Set((process.env.BENCH_GATEWAY_PHASES ?? 'rest,ws').split(',').filter(Boolean));
const CPU_PROF = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://stockify:stockify@127.0.0.1:5432/stockify';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PORTS = { gateway: 32000, grpc: 32001, metrics: 32002, bare: 32003 };

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}services/stockify.js`;
const OUT = join(ROOT, '.local', 'bench');
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');

const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const LIVE_IDS = Array.from({ length: UNIVERSE }, (_, i) => `NSE_EQ:9${RUN}${String(i).padStart(3, '0')}`);
const LATEST_IDS = Array.from({ length: 10 }, (_, i) => `NSE_EQ:8${RUN}${i}`);
const snapshotCodec = codec<Snapshot>('Snapshot');

const t0 = Date.now();
const step = (what: string): void => {
  process.stderr.write(`    [${((Date.now() - t0) / 1000).toFixed(0)} s] ${what}\n`);
};
const load1 = (): number => loadavg()[0] ?? 0;
const nowUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

// ---- /proc of a child ----
const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
/** CPU seconds (user + system) a process has used so far (USER_HZ 100). */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** Samples a process's RSS every 250 ms; `stop` gives the peak and the CPU seconds used meanwhile. */
function watch(pid: number): { stop(): { peakRssMiB: number; cpuSeconds: number; wallSeconds: number } } {
  let peak = rssMiB(pid);
  const cpu0 = cpuSeconds(pid);
  const wall0 = performance.now();
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, rssMiB(pid));
      return { peakRssMiB: peak, cpuSeconds: cpuSeconds(pid) - cpu0, wallSeconds: (performance.now() - wall0) / 1000 };
    },
  };
}

// ---- children ----
function start(
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

/** A receivers.ts process, answering IPC requests in order. */
class Receivers {
  readonly child: ChildProcess;
  private readonly waiting: ((msg: { op: string }) => void)[] = [];
  private err = '';
  constructor(args: string[]) {
    this.child = fork(join(ROOT, 'tests/bench/gateway/receivers.ts'), args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.err += d.toString();
    });
    this.child.on('message', (msg: { op: string }) => this.waiting.shift()?.(msg));
  }
  next<T>(what: string, timeoutMs: number): Promise<T> {
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`receivers: no ${what} after ${timeoutMs} ms ${this.err}`)), timeoutMs);
      const onExit = (code: number | null): void =>
        rej(new Error(`receivers exited (${code}) before ${what}: ${this.err.trim()}`));
      this.child.once('exit', onExit);
      this.waiting.push((msg) => {
        clearTimeout(t);
        this.child.off('exit', onExit);
        res(msg as T);
      });
    });
  }
  async ask<T>(msg: object, what: string): Promise<T> {
    const reply = this.next<T>(what, 30_000);
    this.child.send(msg);
    return reply;
  }
}

// ---- REST load: autocannon in its own process ----
interface Cannon {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  errors: number;
  non2xx: number;
}
function cannon(url: string, seconds: number): Promise<Cannon> {
  return new Promise((res, rej) => {
    const args = [AUTOCANNON, '-c', String(REST_CALLERS), '-d', String(seconds), '-j', '-n', url];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`autocannon exited ${code}: ${err.trim()}`));
      const r = JSON.parse(out) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number; max: number };
        errors: number;
        timeouts: number;
        non2xx: number;
        duration: number;
      };
      res({
        rps: r.requests.total / r.duration,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        maxMs: r.latency.max,
        requests: r.requests.total,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
      });
    });
  });
}

/** A quote of about 700 bytes (five depth levels, as Dhan's full mode gives); tick.seq = publish time, µs. */
function quoteBytes(id: string, publishedUs: number): Buffer {
  const t = tick(id, 1, Math.floor(publishedUs / 1000), 1_000 + (publishedUs % 997) / 10);
  const depth = Array.from({ length: 5 }, (_, i) => ({
    bidPrice: 1_000 - i * 0.05,
    bidQuantity: 100 * (i + 1),
    bidOrders: i + 1,
    askPrice: 1_000.05 + i * 0.05,
    askQuantity: 90 * (i + 1),
    askOrders: i + 2,
  }));
  return snapshotCodec.encode({
    instrumentId: id,
    timeMs: t.exchangeTimeMs,
    payload: 'tick',
    tick: { ...t, seq: Math.floor(publishedUs), depth },
  } as Snapshot);
}

/** Publishes RATE quotes a second round-robin over LIVE_IDS, catching up on a late timer. */
function publisher(redis: Redis): { count(): number; stop(): Promise<{ published: number; lateMs: number }> } {
  const began = performance.now();
  let published = 0;
  let next = 0;
  let lateMs = 0;
  const pending: Promise<unknown>[] = [];
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - began) / 1000) * RATE);
    lateMs = Math.max(lateMs, ((due - published) / RATE) * 1000);
    while (published < due) {
      const id = LIVE_IDS[next++ % LIVE_IDS.length] as string;
      pending.push(redis.publish(`live:${id}`, quoteBytes(id, nowUs())));
      published++;
    }
    if (pending.length > 1000) pending.splice(0, pending.length - 100);
  }, 5);
  return {
    count: () => published,
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return { published, lateMs };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the run ----
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const pool = testPool(DATABASE_URL);
const schema = uniqueName('bench_gw');
const children: ChildProcess[] = [];
let feed: Feed | undefined;
const summary: Record<string, unknown> = {
  clients: CLIENTS,
  instrumentsPerClient: PER_CLIENT,
  universe: UNIVERSE,
  subscribersPerInstrument: (CLIENTS * PER_CLIENT) / UNIVERSE,
  publishRate: RATE,
  seconds: SECONDS,
  restSeconds: REST_SECONDS,
  restCallers: REST_CALLERS,
};
try {
  if (PHASES.has('rest')) {
    feed = await createFeed(`bgw-${RUN}`);
    const records: EnrichedRecord[] = [];
    for (const [i, id] of LATEST_IDS.entries())
      for (let s = 1; s <= 5; s++) records.push(rec.tick(tick(id, s, T0 + s * 1000, 100 + i)));
    await produce(feed.topic, records);
    step('ticks produced; starting storage');
    const storage = start([CLI, 'storage'], {
      DATABASE_URL,
      REDIS_URL,
      FEED_NAME: feed.feed,
      FEED_NAMESPACE: feed.namespace,
      SHARD_INDEX: '0',
      SHARD_COUNT: '1',
      INSTRUMENTS_FILE: feed.shardFile,
      GRPC_PORT: String(PORTS.grpc),
      METRICS_PORT: String(PORTS.metrics),
      LOG_LEVEL: 'warn',
      DB_SCHEMA: schema,
    });
    children.push(storage.child);
    await waitFor(
      'latest snapshots in Redis',
      async () => ((await redis.exists(...LATEST_IDS.map((id) => `latest:${id}`))) === LATEST_IDS.length ? true : undefined),
      180_000,
      300,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage.output()}`);
    });
  }

  step('starting the gateway');
  const gateway = start(
    [CLI, 'gateway'],
    {
      REDIS_URL,
      FEED_NAME: `bgw-${RUN}`,
      FEED_NAMESPACE: 'bench',
      HTTP_PORT: String(PORTS.gateway),
      MARKETDATA_ENDPOINT: `127.0.0.1:${PORTS.grpc}`,
      // The per-token limit (default 1,200/min) would answer 429 to a load test from one address.
      RATE_LIMIT_PER_MINUTE: '1000000000',
      LOG_LEVEL: 'warn',
    },
    CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF, '--cpu-prof-name', 'gateway.cpuprofile'] : [],
  );
  children.push(gateway.child);
  const gwPid = gateway.child.pid as number;
  const base = `http://127.0.0.1:${PORTS.gateway}`;
  await waitFor(
    'gateway ready',
    async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined),
    60_000,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${gateway.output()}`);
  });
  summary.gatewayIdleRssMiB = rssMiB(gwPid);

  if (PHASES.has('rest')) {
    const latestPath = `/v1/latest?instruments=${LATEST_IDS.join(',')}`;
    const res = await fetch(`${base}${latestPath}`);
    const body = await res.text();
    if (!res.ok || (JSON.parse(body) as { snapshots: unknown[] }).snapshots.length !== LATEST_IDS.length)
      throw new Error(`GET ${latestPath}: ${res.status} ${body.slice(0, 300)}`);
    const bodyFile = join(OUT, 'gateway-latest.json');
    mkdirSync(OUT, { recursive: true });
    writeFileSync(bodyFile, body);
    const bare = start([join(ROOT, 'tests/bench/gateway/bare-fastify.ts'), String(PORTS.bare), bodyFile], {});
    children.push(bare.child);
    await waitFor('bare Fastify', async () => (bare.output().includes('listening') ? true : undefined), 30_000, 50);

    step(`REST latest, ${REST_CALLERS} callers, ${REST_SECONDS} s each (bare Fastify, then the gateway)`);
    const loadBefore = load1();
    await cannon(`http://127.0.0.1:${PORTS.bare}/v1/latest`, 2);
    const wb = watch(bare.child.pid as number);
    const ref = await cannon(`http://127.0.0.1:${PORTS.bare}/v1/latest`, REST_SECONDS);
    const bareUse = wb.stop();
    await cannon(`${base}${latestPath}`, 2);
    const w = watch(gwPid);
    const ours = await cannon(`${base}${latestPath}`, REST_SECONDS);
    const gw = w.stop();
    summary.rest = {
      responseBytes: Buffer.byteLength(body),
      ids: LATEST_IDS.length,
      ours,
      reference: ref,
      ratio: ours.rps / ref.rps,
      gatewayCpuUsPerRequest: (gw.cpuSeconds * 1e6) / Math.max(1, ours.requests),
      referenceCpuUsPerRequest: (bareUse.cpuSeconds * 1e6) / Math.max(1, ref.requests),
      gatewayCpuPercent: (100 * gw.cpuSeconds) / gw.wallSeconds,
      gatewayPeakRssMiB: gw.peakRssMiB,
      loadAverage: { before: loadBefore, after: load1() },
    };
    await stop(bare.child);
  }

  if (PHASES.has('ws')) {
    step(`opening ${CLIENTS} WebSocket clients × ${PER_CLIENT} instruments`);
    const gwBefore = rssMiB(gwPid);
    const ws = new Receivers([
      'ws',
      `ws://127.0.0.1:${PORTS.gateway}/v1/ws`,
      String(CLIENTS),
      String(PER_CLIENT),
      LIVE_IDS.join(','),
    ]);
    children.push(ws.child);
    const wsReady = await ws.next<ReceiverReady>('ready', 300_000);
    const ref = new Receivers(['redis', REDIS_URL, LIVE_IDS.join(',')]);
    children.push(ref.child);
    await ref.next<ReceiverReady>('ready', 30_000);
    await sleep(1000);
    const gwConnected = rssMiB(gwPid);
    step(
      `${wsReady.connections} connected in ${(wsReady.connectMs / 1000).toFixed(1)} s; publishing ${RATE}/s (2 s warm-up, ${SECONDS} s measured)`,
    );

    const pub = publisher(redis);
    await sleep(2000);
    // Quotes published from here on carry seq ≥ fromUs: those are the measured ones.
    const fromUs = nowUs();
    const published0 = pub.count();
    await Promise.all([ws.ask({ op: 'measure', fromUs }, 'measured'), ref.ask({ op: 'measure', fromUs }, 'measured')]);
    const loadBefore = load1();
    const w = watch(gwPid);
    const wsCpu0 = cpuSeconds(ws.child.pid as number);
    await sleep(SECONDS * 1000);
    const gw = w.stop();
    const wsCpu = cpuSeconds(ws.child.pid as number) - wsCpu0;
    const { published, lateMs } = await pub.stop();
    await sleep(1500); // the last quotes in flight
    const [oursR, refR] = await Promise.all([
      ws.ask<ReceiverReport>({ op: 'report' }, 'report'),
      ref.ask<ReceiverReport>({ op: 'report' }, 'report'),
    ]);
    const measuredPublished = published - published0;
    summary.fanout = {
      connectSeconds: wsReady.connectMs / 1000,
      published,
      publisherMaxLateMs: lateMs,
      quoteBytes: quoteBytes(LIVE_IDS[0] as string, nowUs()).length,
      deliveriesPerSecond: oursR.received / SECONDS,
      expectedDeliveries: measuredPublished * ((CLIENTS * PER_CLIENT) / UNIVERSE),
      ours: oursR,
      reference: refR,
      ratioP99: oursR.p99Ms / refR.p99Ms,
      gatewayCpuPercent: (100 * gw.cpuSeconds) / gw.wallSeconds,
      gatewayCpuUsPerDelivery: (gw.cpuSeconds * 1e6) / Math.max(1, oursR.received),
      gatewayRssMiB: { idle: gwBefore, connected: gwConnected, peakUnderLoad: gw.peakRssMiB },
      gatewayKiBPerConnection: ((gwConnected - gwBefore) * 1024) / Math.max(1, wsReady.connections),
      receiversCpuPercent: (100 * wsCpu) / gw.wallSeconds,
      loadAverage: { before: loadBefore, after: load1() },
    };
    for (const r of [ws, ref]) r.child.disconnect();
  }

  summary.at = new Date().toISOString();
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'gateway.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const f = (v: unknown, d = 1): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');
  const rest = summary.rest as
    | {
        ours: Cannon;
        reference: Cannon;
        ratio: number;
        gatewayCpuUsPerRequest: number;
        referenceCpuUsPerRequest: number;
        gatewayPeakRssMiB: number;
        loadAverage: { before: number; after: number };
      }
    | undefined;
  if (rest) {
    process.stdout.write(
      `REST latest @${REST_CALLERS}: gateway ${f(rest.ours.rps, 0)} rps p50 ${f(rest.ours.p50Ms)} ms p99 ${f(rest.ours.p99Ms)} ms (errors ${rest.ours.errors}, non-2xx ${rest.ours.non2xx}); bare Fastify ${f(rest.reference.rps, 0)} rps p50 ${f(rest.reference.p50Ms)} ms p99 ${f(rest.reference.p99Ms)} ms; ratio ${f(rest.ratio, 2)}; CPU per request gateway ${f(rest.gatewayCpuUsPerRequest, 0)} µs, bare ${f(rest.referenceCpuUsPerRequest, 0)} µs; gateway RSS ${f(rest.gatewayPeakRssMiB, 0)} MiB; load average ${f(rest.loadAverage.before, 2)} → ${f(rest.loadAverage.after, 2)}\n`,
    );
  }
  const fan = summary.fanout as
    | {
        ours: ReceiverReport;
        reference: ReceiverReport;
        ratioP99: number;
        expectedDeliveries: number;
        deliveriesPerSecond: number;
        gatewayCpuPercent: number;
        gatewayCpuUsPerDelivery: number;
        gatewayRssMiB: { idle: number; connected: number; peakUnderLoad: number };
        gatewayKiBPerConnection: number;
        receiversCpuPercent: number;
        loadAverage: { before: number; after: number };
      }
    | undefined;
  if (fan) {
    const o = fan.ours;
    const r = fan.reference;
    process.stdout.write(
      `fan-out ${CLIENTS} clients × ${PER_CLIENT} of ${UNIVERSE} instruments, ${RATE} quotes/s: p50 ${f(o.p50Ms, 2)} ms p99 ${f(o.p99Ms, 2)} ms max ${f(o.maxMs, 2)} ms; ${o.received} received of ${fan.expectedDeliveries} expected, ${f(fan.deliveriesPerSecond, 0)}/s), closed ${JSON.stringify(o.closed)}, errors ${o.errors}\n` +
        `  Redis → ioredis subscriber: p50 ${f(r.p50Ms, 2)} ms p99 ${f(r.p99Ms, 2)} ms max ${f(r.maxMs, 2)} ms (${r.received} received); p99 ratio ${f(fan.ratioP99, 2)}\n` +
        `  gateway CPU ${f(fan.gatewayCpuPercent)} % of a core (${f(fan.gatewayCpuUsPerDelivery, 2)} µs per delivery); RSS idle ${f(fan.gatewayRssMiB.idle, 0)} MiB, ${CLIENTS} connected ${f(fan.gatewayRssMiB.connected, 0)} MiB (${f(fan.gatewayKiBPerConnection)} KiB/connection), peak ${f(fan.gatewayRssMiB.peakUnderLoad, 0)} MiB; receivers CPU ${f(fan.receiversCpuPercent)} %; load average ${f(fan.loadAverage.before, 2)} → ${f(fan.loadAverage.after, 2)}\n`,
    );
  }
} finally {
  for (const c of children.reverse()) await stop(c).catch(() => undefined);
  await dropSchema(pool, schema).catch(() => undefined);
  await pool.end();
  if (feed) {
    await deleteTopics(feed).catch(() => undefined);
    feed.cleanup();
  }
  const keys = await redis.keys(`latest:NSE_EQ:8${RUN}*`).catch(() => [] as string[]);
  if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
  redis.disconnect();
}
