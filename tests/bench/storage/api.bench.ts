// MarketData under load: a real `stockify storage` process with data in PostgreSQL and Redis,
// driven by the grpc-js load generator (tests/bench/grpc/load.ts) at 1 and 32 concurrent callers,
// beside a trivial grpc-js echo server measured by the same client in the same run (the reference).
// Targets: GetLatest ≥ 10,000 rps with p99 ≤ 20 ms at 32 callers; GetOptionChain ≥ 2,000 rps with
// p99 ≤ 50 ms. Reports storage RSS under load. Writes .local/bench/storage-api.json.
//   node tests/bench/storage/api.bench.ts [seconds per run]   (KAFKA_BROKERS, DATABASE_URL, REDIS_URL)
//   BENCH_GRPC_LOADGEN=ghz   ghz instead of our grpc-js load client
//   BENCH_CPU_PROF=<dir>   the storage process runs under node --cpu-prof into <dir>
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { EnrichedRecord } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { count, dropSchema, testPool, uniqueName } from '../../integration/storage/helpers.ts';
import { createFeed, deleteTopics, freePort, produce, waitFor } from '../../integration/storage/process.ts';
import { gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { ECHO_PROTO, ghzPath, runGhz } from '../grpc/ghz.ts';
import { ECHO_METHOD, type LoadResult, runLoad } from '../grpc/load.ts';

const SECONDS = Number(process.argv[2] ?? 8);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://stockify:stockify@127.0.0.1:5432/stockify';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * Our grpc-js client (default: it does not decode responses, so a 20 kB chain costs the client no
 * more than an echo) or ghz (BENCH_GRPC_LOADGEN=ghz; built once by infra/ghz/build.sh), which
 * decodes every response into a dynamic message and so measures its own decoding on large answers.
 */
const LOADGEN = process.env.BENCH_GRPC_LOADGEN === 'ghz' ? 'ghz' : 'grpc-js';
const CPU_PROF = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${ROOT}services/stockify.js`;
const OUT = `${ROOT}.local/bench/`;

const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const UNDERLYING = `IDX_I:${RUN}`;
const EQUITIES = Array.from({ length: 9 }, (_, i) => `NSE_EQ:${RUN}${i}`);
const EXPIRY = '2026-11-26';
/** 20 strikes each side of the money, calls and puts: the chain a MarketFeed's `strikes: 20` streams. */
const STRIKES = Array.from({ length: 41 }, (_, i) => 24_000 + i * 50);
const CONTRACTS = STRIKES.flatMap((s, i) => [
  { id: `NSE_FNO:${RUN}${String(i).padStart(2, '0')}1`, strike: s, type: 'CALL' as const },
  { id: `NSE_FNO:${RUN}${String(i).padStart(2, '0')}2`, strike: s, type: 'PUT' as const },
]);
const LATEST_IDS = [UNDERLYING, ...EQUITIES];

function market(): EnrichedRecord[] {
  const out: EnrichedRecord[] = [];
  for (let s = 1; s <= 5_000; s++) out.push(rec.tick(tick(UNDERLYING, s)));
  for (const [i, id] of EQUITIES.entries())
    for (let s = 1; s <= 100; s++) out.push(rec.tick(tick(id, s, T0 + s * 1000, 100 + i)));
  for (const c of CONTRACTS) {
    for (let s = 1; s <= 20; s++) {
      out.push(rec.quote(quote(c.id, c.strike, c.type, s, { underlying: UNDERLYING, expiry: EXPIRY, timeMs: T0 + s * 1000 })));
    }
  }
  out.push(rec.gex(gex(UNDERLYING, T0 + 20_000, EXPIRY)));
  return out;
}

function startChild(
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, output: () => out };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

/** CPU seconds (user + system) a process has used so far. */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
};

const CLI_RUNS = 7;

/** Wall time of a command, the median of CLI_RUNS runs after one untimed run (V8's compile cache warm); it must exit 0. */
async function medianWallMs(argv: string[]): Promise<number> {
  const once = (): Promise<number> =>
    new Promise((done, fail) => {
      const at = performance.now();
      const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.once('error', fail);
      child.once('exit', (code) =>
        code === 0 ? done(performance.now() - at) : fail(new Error(`${argv.slice(1).join(' ')} exited ${code}: ${err}`)),
      );
    });
  await once();
  const times: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)] ?? Number.NaN);
}

type Measured = LoadResult & { peakRssMiB: number | null; cpuUsPerCall: number | null };

/**
 * Runs a load while sampling the server's RSS and CPU time. CPU µs per call does not depend on how
 * busy the machine is (rps and latency do): 1e6 / it is what one core could serve.
 */
async function measure(pid: number | undefined, load: () => Promise<LoadResult>): Promise<Measured> {
  let peak = 0;
  const sample = (): void => {
    if (pid !== undefined) peak = Math.max(peak, rssMiB(pid));
  };
  const cpu0 = pid === undefined ? 0 : cpuSeconds(pid);
  const timer = setInterval(sample, 250);
  try {
    const r = await load();
    sample();
    const cpu = pid === undefined ? null : ((cpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, r.totalCalls);
    return { ...r, peakRssMiB: pid === undefined ? null : Math.round(peak), cpuUsPerCall: cpu === null ? null : Math.round(cpu) };
  } finally {
    clearInterval(timer);
  }
}

const t0 = Date.now();
const step = (what: string): void => {
  process.stderr.write(`    [${((Date.now() - t0) / 1000).toFixed(0)} s] ${what}\n`);
};
const pool = testPool(DATABASE_URL);
const schema = uniqueName('bench_api');
const feed = await createFeed(`bapi-${RUN}`);
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const children: ChildProcess[] = [];
try {
  await produce(feed.topic, market());
  step('records produced; starting storage');
  const grpcPort = await freePort();
  const storage = startChild(
    [CLI, 'storage'],
    {
      DATABASE_URL,
      REDIS_URL,
      FEED_NAME: feed.feed,
      FEED_NAMESPACE: feed.namespace,
      SHARD_INDEX: '0',
      SHARD_COUNT: '1',
      INSTRUMENTS_FILE: feed.shardFile,
      GRPC_PORT: String(grpcPort),
      METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      DB_SCHEMA: schema,
    },
    CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF, '--cpu-prof-name', 'storage-api.cpuprofile'] : [],
  );
  children.push(storage.child);
  await waitFor(
    'the bench data in PostgreSQL and Redis',
    async () => {
      const quotes = await count(pool, schema, 'option_quotes').catch(() => 0);
      const g = await count(pool, schema, 'gex').catch(() => 0);
      const keys = await redis.exists(...CONTRACTS.map((c) => `latest:${c.id}`), ...LATEST_IDS.map((id) => `latest:${id}`));
      return quotes >= CONTRACTS.length * 20 && g >= 1 && keys === CONTRACTS.length + LATEST_IDS.length ? true : undefined;
    },
    180_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${storage.output()}`);
  });

  step('data stored; starting the echo server');
  const echoPort = await freePort();
  const echo = startChild([`${ROOT}tests/bench/grpc/echo-server.ts`, String(echoPort)], {});
  children.push(echo.child);
  await waitFor('the echo server', async () => (echo.output().includes('listening') ? true : undefined), 30_000, 50);
  // The same echo in one process per core (node:cluster): what grpc-js can answer on this machine at
  // all, beside the load generator on the same cores — the ceiling of any grpc-js server here.
  const echoWorkersPort = await freePort();
  const echoWorkers = startChild([`${ROOT}tests/bench/grpc/echo-server.ts`, String(echoWorkersPort), String(cpus().length)], {});
  children.push(echoWorkers.child);
  await waitFor(
    'the echo workers',
    async () => ((echoWorkers.output().match(/listening/g)?.length ?? 0) >= cpus().length ? true : undefined),
    30_000,
    50,
  );

  const storageAddr = `127.0.0.1:${grpcPort}`;
  const echoAddr = `127.0.0.1:${echoPort}`;
  const latestReq = { instruments: LATEST_IDS };
  const chainReq = { underlying: UNDERLYING, expiry: EXPIRY };
  const latestBytes = codec<{ instruments: string[] }>('GetLatestRequest').encode(latestReq);
  const chainBytes = codec<{ underlying: string; expiry: string }>('GetOptionChainRequest').encode(chainReq);
  // The echo server answers with a message the size of GetLatest's answer (what is on the wire).
  const latestResponseBytes = (
    await runLoad({
      address: storageAddr,
      method: '/stockify.v1.MarketData/GetLatest',
      request: latestBytes,
      concurrency: 1,
      durationMs: 100,
      warmupMs: 0,
    })
  ).responseBytes;
  const echoPayload = Buffer.alloc(latestResponseBytes - 3, 7);
  const ghz = LOADGEN === 'ghz' ? await ghzPath() : undefined;
  step(`load generator: ${ghz ? `ghz (${ghz})` : 'grpc-js (tests/bench/grpc/load.ts)'}`);
  const durationMs = SECONDS * 1000;
  const load = (concurrency: number, target: 'echo' | 'echo-workers' | 'GetLatest' | 'GetOptionChain'): Promise<LoadResult> => {
    const echoAt = target === 'echo-workers' ? `127.0.0.1:${echoWorkersPort}` : echoAddr;
    if (ghz) {
      const common = { ghz, concurrency, durationMs };
      if (target === 'echo' || target === 'echo-workers')
        return runGhz({
          ...common,
          address: echoAt,
          call: 'bench.Echo/Echo',
          proto: ECHO_PROTO,
          data: { payload: echoPayload.toString('base64') },
        });
      return runGhz({
        ...common,
        address: storageAddr,
        call: `stockify.v1.MarketData/${target}`,
        data: target === 'GetLatest' ? latestReq : chainReq,
      });
    }
    const common = { concurrency, durationMs, warmupMs: 1_500 };
    if (target === 'echo' || target === 'echo-workers')
      return runLoad({
        ...common,
        address: echoAt,
        method: ECHO_METHOD,
        request: echoPayload,
      });
    return runLoad({
      ...common,
      address: storageAddr,
      method: `/stockify.v1.MarketData/${target}`,
      request: target === 'GetLatest' ? latestBytes : chainBytes,
    });
  };
  const results: Record<string, Measured> = {};
  const loadBefore = loadavg()[0] ?? 0;
  for (const concurrency of [1, 32]) {
    step(`${concurrency} caller(s)`);
    results[`echo@${concurrency}`] = await measure(echo.child.pid, () => load(concurrency, 'echo'));
    results[`GetLatest@${concurrency}`] = await measure(storage.child.pid, () => load(concurrency, 'GetLatest'));
    results[`GetOptionChain@${concurrency}`] = await measure(storage.child.pid, () => load(concurrency, 'GetOptionChain'));
  }
  // Its CPU is spread over worker processes, so only rps and latency are reported.
  results[`echo×${cpus().length}@32`] = await measure(undefined, () => load(32, 'echo-workers'));
  step('CLI start: node -e 0, stockify --help, stockify query latest');
  const cli = {
    nodeBareMs: await medianWallMs([process.execPath, '-e', '0']),
    helpMs: await medianWallMs([process.execPath, CLI, '--help']),
    queryLatestMs: await medianWallMs([process.execPath, CLI, 'query', 'latest', UNDERLYING, '--endpoint', storageAddr]),
  };
  const summary = {
    at: new Date().toISOString(),
    seconds: SECONDS,
    loadGenerator: ghz ? 'ghz' : 'grpc-js',
    latestResponseBytes,
    loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 },
    latestIds: LATEST_IDS.length,
    chainContracts: CONTRACTS.length,
    results,
    cli,
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}storage-api.json`, `${JSON.stringify(summary, null, 2)}\n`);
  const row = (k: string, r: Measured): string =>
    `${k.padEnd(18)} ${r.rps.toFixed(0).padStart(7)} rps  p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(6)} ms  errors ${r.errors}  ${r.responseBytes} B  server CPU ${r.cpuUsPerCall ?? '-'} µs/call  RSS ${r.peakRssMiB ?? '-'} MiB`;
  for (const [k, r] of Object.entries(results)) process.stdout.write(`${row(k, r)}\n`);
  process.stdout.write(
    `CLI wall (median of ${CLI_RUNS}): node -e 0 ${cli.nodeBareMs} ms, stockify --help ${cli.helpMs} ms, stockify query latest ${cli.queryLatestMs} ms\n`,
  );
  process.stdout.write(`load average ${loadBefore.toFixed(2)} → ${(loadavg()[0] ?? 0).toFixed(2)}\n`);
} finally {
  for (const c of children.reverse()) await stopChild(c);
  await dropSchema(pool, schema).catch(() => undefined);
  await pool.end();
  await deleteTopics(feed).catch(() => undefined);
  feed.cleanup();
  const keys = await redis.keys(`latest:*:${RUN}*`).catch(() => [] as string[]);
  if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
  redis.disconnect();
}
