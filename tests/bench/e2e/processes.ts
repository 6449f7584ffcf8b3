// The processes of a bench feed, launched exactly as `stockify up` launches them: the operator's
// builders (standaloneProcesses) give each shard's args, env and shard file, services/up/plan.ts
// turns them into local processes; here each runs as `node services/stockify.js <component> ...`.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { feedTopics } from '../../../operator/controller/topics.ts';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { standaloneProcesses } from '../../../operator/desired/index.ts';
import { createKafka } from '../../../services/core/kafka.ts';
import type { Logger } from '../../../services/core/log.ts';
import { type Component, type ProcessPlan, planProcesses, withPorts } from '../../../services/up/plan.ts';
import { freePorts } from '../../../services/up/ports.ts';
import { sumOf } from '../../../services/up/prometheus.ts';
import { scrapeProcess } from '../../../services/up/scraper.ts';
import { ensureTopicsRetried } from '../kafka/topics.ts';

const CLI = fileURLToPath(new URL('../../../services/stockify.js', import.meta.url));
export const BENCH_NAMESPACE = 'bench';

export interface BenchFeedOptions {
  name: string;
  ticksPerSecond: number;
  instruments: number;
  brokers: string;
  redisUrl: string;
}

/** Equities with security ids far from real ones, so latest:<id> keys in Redis touch no other feed. */
export function benchInstrumentIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `NSE_EQ:${9_900_000 + i}`);
}

export function benchFeed(o: BenchFeedOptions): MarketFeed {
  return parseMarketFeed({
    apiVersion: 'stockify.io/v1alpha1',
    kind: 'MarketFeed',
    metadata: { name: o.name, namespace: BENCH_NAMESPACE },
    spec: {
      shards: 1,
      source: { type: 'simulator', simulator: { seed: 11, ticksPerSecond: o.ticksPerSecond, chainSnapshotsPerSecond: 1 } },
      instruments: Array.from({ length: o.instruments }, (_, i) => ({
        symbol: `BENCH${i}`,
        securityId: String(9_900_000 + i),
        segment: 'NSE_EQ',
        kind: 'equity',
        simulator: { price: 500 + 10 * i, volatility: 0.25 },
      })),
      kafka: { bootstrapServers: o.brokers, partitionsPerShard: 3, replicationFactor: 1 },
      postgres: { secretRef: { name: 'bench-postgres' } },
      redis: { url: o.redisUrl },
    },
  });
}

export interface Child {
  plan: ProcessPlan;
  component: Component;
  metricsPort: number;
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** Largest VmHWM (peak resident set) read from /proc, bytes. */
  peakRssBytes: number;
  /** CPU time (user + system) of the process at the last sample, seconds. */
  cpuSeconds: number;
  logFile: string;
}

export interface LaunchOptions {
  feed: MarketFeed;
  env: NodeJS.ProcessEnv;
  dir: string;
  /** Extra args per component, after the built ones (e.g. ingestion --as-fast-as-possible). */
  extraArgs?: Partial<Record<Component, string[]>>;
  /** When set, children run with `node --cpu-prof --cpu-prof-dir <dir>`. */
  cpuProfDir?: string;
}

/** Creates the feed's topics, as the operator (and `stockify up`) does before any process starts. */
export async function createFeedTopics(feed: MarketFeed, brokers: string, log: Logger): Promise<string[]> {
  const topics = feedTopics(feed);
  const admin = createKafka(brokers.split(','), 'stockify-bench-e2e', log).admin();
  await admin.connect();
  try {
    await ensureTopicsRetried(admin, topics);
  } finally {
    await admin.disconnect();
  }
  return topics.map((t) => t.topic);
}

export async function planFeed(o: LaunchOptions): Promise<{ plan: ProcessPlan; metricsPort: number }[]> {
  const plans = planProcesses(standaloneProcesses(o.feed), {
    feed: o.feed.metadata.name,
    env: o.env,
    stateDir: o.dir,
    logDir: o.dir,
  });
  const ports = await freePorts(plans.length * 2);
  mkdirSync(o.dir, { recursive: true });
  return plans.map((p, i) => {
    const metrics = ports[2 * i] ?? 0;
    const plan = withPorts(p, { metrics, grpc: ports[2 * i + 1] ?? 0 });
    writeFileSync(plan.shardFile.path, plan.shardFile.content);
    return { plan, metricsPort: metrics };
  });
}

export function launch(entry: { plan: ProcessPlan; metricsPort: number }, o: LaunchOptions): Child {
  const { plan } = entry;
  const out = openSync(plan.logFile, 'a');
  const prof = o.cpuProfDir
    ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir, '--cpu-prof-name', `${plan.component}.cpuprofile`]
    : [];
  const proc = spawn(process.execPath, [...prof, CLI, ...plan.args, ...(o.extraArgs?.[plan.component] ?? [])], {
    env: plan.env,
    stdio: ['ignore', out, out],
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    plan,
    component: plan.component,
    metricsPort: entry.metricsPort,
    proc,
    exited,
    peakRssBytes: 0,
    cpuSeconds: 0,
    logFile: plan.logFile,
  };
}

/** VmHWM of a live process, bytes; 0 once it is gone. */
export function readPeakRss(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** utime + stime from the text of /proc/<pid>/stat, seconds. */
function statCpuSeconds(stat: string): number {
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

/** utime + stime of a live process, seconds; undefined once it is gone. */
export function readCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The services the pipeline runs on, told apart by their command (the Kafka broker is the java process running kafka.Kafka). */
export type Service = 'PostgreSQL' | 'Kafka broker' | 'Redis';

function serviceOf(pid: string, comm: string): Service | undefined {
  if (comm === 'postgres') return 'PostgreSQL';
  if (comm === 'redis-server') return 'Redis';
  if (comm === 'java') {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka')) return 'Kafka broker';
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * CPU seconds (user + system) of the services on this machine, summed over their live processes,
 * and of the whole machine (every core's non-idle time, /proc/stat): where the cores go besides our
 * own processes. A PostgreSQL backend that exits in between takes its time with it (storage keeps
 * its connections, so its backends live through a run).
 */
export function readServiceCpu(): { services: Record<Service, number>; machineBusy: number } {
  const services: Record<Service, number> = { PostgreSQL: 0, 'Kafka broker': 0, Redis: 0 };
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const service = serviceOf(pid, stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    if (service) services[service] += statCpuSeconds(stat);
  }
  // cpu  user nice system idle iowait irq softirq steal …
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const busy = (cpu[0] ?? 0) + (cpu[1] ?? 0) + (cpu[2] ?? 0) + (cpu[5] ?? 0) + (cpu[6] ?? 0) + (cpu[7] ?? 0);
  return { services, machineBusy: busy / 100 };
}

/** Peak RSS and CPU time of each live child (the last values stay once it has exited). */
export function samplePeakRss(children: readonly Child[]): void {
  for (const c of children) {
    c.peakRssBytes = Math.max(c.peakRssBytes, readPeakRss(c.proc.pid));
    c.cpuSeconds = readCpuSeconds(c.proc.pid) ?? c.cpuSeconds;
  }
}

export async function waitReady(child: Child, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`${child.plan.name} exited (${child.proc.exitCode}); see ${child.logFile}`);
    const r = await scrapeProcess(child.metricsPort);
    if (r.ready) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${child.plan.name} not ready within ${timeoutMs / 1000} s; see ${child.logFile}`);
}

/** Sum of a metric of a child (undefined when it does not answer or does not export it). */
export async function metric(child: Child, name: string, match: Record<string, string> = {}): Promise<number | undefined> {
  const r = await scrapeProcess(child.metricsPort);
  return r.samples ? sumOf(r.samples, name, match) : undefined;
}

/** SIGTERM, then SIGKILL after graceMs. */
export async function stopChild(child: Child, graceMs = 20_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** The ingestion's own count of records Kafka acknowledged, from its 'publisher flushed' log line. */
export function publishedFromLog(logFile: string): number | undefined {
  const lines = readFileSync(logFile, 'utf8').split('\n');
  for (const line of lines.reverse()) {
    if (!line.includes('publisher flushed')) continue;
    try {
      const v = (JSON.parse(line) as { published?: unknown }).published;
      if (typeof v === 'number') return v;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

export const logDir = (root: string, feed: string): string => join(root, feed);
