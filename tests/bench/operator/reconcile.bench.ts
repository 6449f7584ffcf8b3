// Operator benchmark against the kube-apiserver of KUBECONFIG (and Kafka of KAFKA_BROKERS), each
// figure beside a reference measured in the same run:
//   reference: the API round trip of one server-side apply (a ConfigMap, median of 30);
//   1. a 32-shard MarketFeed: wall time of the reconcile that creates its 259 objects (and its 65
//      topics) and the CPU time the operator spent meanwhile, and from apply to every owned object
//      present (counted after that reconcile);
//   2. the reconcile after a change that touches every shard (32 processor Deployments re-applied);
//   3. API writes in steady state (must be 0; lease renewals are off here);
//   4. resident memory of `stockify operator` (its own process) with 20 MarketFeeds, beside a bare
//      node process's.
// Prints a summary and writes .local/bench/operator.json.
//   node tests/bench/operator/reconcile.bench.ts      BENCH_CPU_PROF=1: a CPU profile of the reconciles
//   BENCH_OPERATOR_NODE_OPTIONS: the operator process's NODE_OPTIONS (default: the chart's nodeOptions)
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { type AddressInfo, createServer } from 'node:net';
import { loadavg } from 'node:os';
import { PatchStrategy } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startOperator } from '../../../operator/controller/operator.ts';
import { createKafka } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import {
  brokers,
  Cluster,
  feedManifest,
  manyInstruments,
  sleep,
  uniqueName,
  waitFor,
} from '../../integration/operator/helpers.ts';

const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 10_000);
/** The operator process runs with the chart's NODE_OPTIONS (its nodeOptions value), as it does in a cluster. */
const OPERATOR_NODE_OPTIONS =
  process.env.BENCH_OPERATOR_NODE_OPTIONS ??
  String((parse(readFileSync('charts/stockify-operator/values.yaml', 'utf8')) as { nodeOptions?: string }).nodeOptions ?? '');
const cluster = new Cluster();
const ns = uniqueName('stk-bench');
/** The operator's per-step times of each reconcile (its debug line 'reconcile steps'); nothing else is kept. */
const stepLines: { feed: string; stepsMs: Record<string, number> }[] = [];
const log = createLogger({
  component: 'operator-bench',
  level: 'debug',
  destination: {
    write(line: string) {
      if (!line.includes('"reconcile steps"')) return;
      const { feed, stepsMs } = JSON.parse(line) as { feed: string; stepsMs: Record<string, number> };
      stepLines.push({ feed, stepsMs });
    },
  },
});
const stepsOf = (key: string, from = 0): Record<string, number> | undefined =>
  stepLines.slice(from).find((l) => l.feed === key)?.stepsMs;
const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function countOwned(feed: string): Promise<number> {
  let n = 0;
  for (const [v, k] of [
    ['apps/v1', 'Deployment'],
    ['v1', 'ConfigMap'],
    ['autoscaling/v2', 'HorizontalPodAutoscaler'],
    ['policy/v1', 'PodDisruptionBudget'],
    ['v1', 'Service'],
    ['v1', 'ServiceAccount'],
    ['networking.k8s.io/v1', 'NetworkPolicy'],
  ] as const) {
    n += (await cluster.list(ns, v, k, `app.kubernetes.io/instance=${feed}`)).length;
  }
  return n;
}

/** The Kafka topics of the bench's feeds (kept by their default deletion policy, Retain). */
async function deleteBenchTopics(): Promise<void> {
  const admin = createKafka(brokers().split(','), 'stockify-bench', log).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.includes(`.${ns}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

/** Median wall time of one server-side apply of a small ConfigMap that changes each time. */
async function applyRoundTripMs(n = 30): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bench-reference', namespace: ns, annotations: { round: String(i) } },
      data: { i: String(i) },
    };
    const t0 = performance.now();
    await cluster.objects.patch(body, undefined, undefined, 'stockify-bench', true, PatchStrategy.ServerSideApply);
    times.push(performance.now() - t0);
  }
  return median(times.slice(5));
}

const procStatus = (pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** RSS of a bare `node` (the same binary) idling: what any Node process costs. */
async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 3000)'], { stdio: 'ignore' });
  await sleep(1_000);
  const rss = procStatus(child.pid, 'VmRSS');
  child.kill();
  return mib(rss);
}

/** `stockify operator` on the bench namespace until it reconciled every feed and its queue drained. */
async function operatorProcess(): Promise<{ rssMiB: number; peakMiB: number; reconciles: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['services/stockify.js', 'operator', '--leader-elect=false'], {
    env: {
      ...process.env,
      WATCH_NAMESPACE: ns,
      METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // Fail fast when it dies (a wait for an 'exit' already emitted would never settle, and the bench would
  // end without its clean-up).
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const died = exited.then(() => {
    throw new Error(`stockify operator exited (${child.exitCode ?? child.signalCode}) before it reconciled the 20 feeds`);
  });
  died.catch(() => undefined);
  const scrape = async (): Promise<{ queue: number; reconciles: number } | undefined> => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const sum = (re: RegExp) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
      return {
        queue: sum(/^stockify_operator_queue_depth(?:\{[^}]*\})? (\S+)$/gm),
        reconciles: sum(/^stockify_operator_reconciles_total\{[^}]*\} (\S+)$/gm),
      };
    } catch {
      return undefined;
    }
  };
  try {
    const done = await Promise.race([
      waitFor(
        'the operator process to reconcile all 20 feeds',
        async () => {
          const m = await scrape();
          return m && m.reconciles >= 20 && m.queue === 0 ? m : undefined;
        },
        120_000,
        250,
      ),
      died,
    ]);
    await sleep(5_000);
    return {
      rssMiB: mib(procStatus(child.pid, 'VmRSS')),
      peakMiB: mib(procStatus(child.pid, 'VmHWM')),
      reconciles: (await scrape())?.reconciles ?? done.reconciles,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0] ?? 0;
  await cluster.installCrd();
  await cluster.createNamespace(ns);
  await cluster.createSecret(ns, 'pg', { url: 'postgres://stockify:stockify@127.0.0.1:5432/stockify' });
  const applyMs = await applyRoundTripMs();
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const reconciles: { key: string; ms: number; at: number }[] = [];
  const op = await startOperator({
    kubeConfig: cluster.kc,
    namespace: ns,
    leaderElect: false,
    log,
    resyncMs: 600_000,
    onReconciled: (key, ms) => reconciles.push({ key, ms, at: performance.now() }),
  });
  let stopped = false;
  const profile = process.env.BENCH_CPU_PROF ? new Session() : undefined;
  if (profile) {
    profile.connect();
    await profile.post('Profiler.enable');
    await profile.post('Profiler.start');
  }
  try {
    // 1. 32 shards: SA + Service + NetworkPolicy + 32 × (ConfigMap + 3 Deployments + 2 HPAs + 2 PDBs)
    const big = uniqueName('big');
    const key = `${ns}/${big}`;
    const expected = 3 + 32 * 8;
    const manifest = (spec: Record<string, unknown> = {}) =>
      feedManifest(ns, big, { shards: 32, instruments: manyInstruments(2000), ...spec });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await cluster.applyFeed(manifest());
    const createMs = (
      await waitFor('the creating reconcile to return', async () => reconciles.find((r) => r.key === key), 300_000, 10)
    ).ms;
    const cpu = process.cpuUsage(cpu0);
    const createSteps = stepsOf(key);
    const createCpuMs = (cpu.user + cpu.system) / 1000;
    // Counted once the creating reconcile returned, not while it ran: seven LISTs every 100 ms
    // competed with it for the API server (on two cores, a sizeable share of the figure).
    await waitFor('every object of the 32-shard feed', async () => (await countOwned(big)) === expected, 300_000, 100);
    const applyToReadyMs = performance.now() - t0;
    await waitFor('the queue to drain', async () => op.queueDepth() === 0, 60_000);

    // 2. A change to every shard: the processor's memory request.
    await sleep(1_000);
    const updateLines = stepLines.length;
    const t1 = performance.now();
    await cluster.applyFeed(
      manifest({ processor: { autoscaling: { minReplicas: 1, maxReplicas: 3 }, resources: { requests: { memory: '300Mi' } } } }),
    );
    await waitFor(
      'the changed processors',
      async () =>
        (
          await cluster.list(ns, 'apps/v1', 'Deployment', `app.kubernetes.io/instance=${big},app.kubernetes.io/name=processor`)
        ).every(
          (d) =>
            (d as { spec?: { template?: { spec?: { containers?: { resources?: { requests?: { memory?: string } } }[] } } } }).spec
              ?.template?.spec?.containers?.[0]?.resources?.requests?.memory === '300Mi',
        ),
      60_000,
      500, // not more often: each look lists 32 Deployments while the reconcile being timed runs
    );
    await waitFor('the queue to drain', async () => op.queueDepth() === 0, 60_000);
    const updateMs = Math.max(...reconciles.filter((r) => r.key === key && r.at > t1).map((r) => r.ms));
    const updateSteps = stepsOf(key, updateLines);
    const applyMsAfter = await applyRoundTripMs();
    if (profile) {
      const { profile: p } = await profile.post('Profiler.stop');
      mkdirSync('.local/bench', { recursive: true });
      writeFileSync('.local/bench/operator.cpuprofile', JSON.stringify(p));
    }

    // 3. steady state
    await sleep(1_000);
    const writesBefore = op.requests.writeCount();
    const steadyFrom = performance.now();
    await sleep(STEADY_MS);
    const steadyWrites = op.requests.writeCount() - writesBefore;
    const steadyWriteUrls = op.requests.writes
      .slice(-steadyWrites || op.requests.writes.length)
      .map((w) => `${w.method} ${w.url.split('?')[0]}`);
    const steady = reconciles.filter((r) => r.key === key && r.at > steadyFrom).map((r) => r.ms);

    // 4. 20 MarketFeeds: created by this operator, then taken over by `stockify operator` as its own
    // process (this one stopped), whose resident set is what a pod holds.
    const feeds = Array.from({ length: 19 }, () => uniqueName('mf'));
    for (const f of feeds) await cluster.applyFeed(feedManifest(ns, f, { shards: 4, instruments: manyInstruments(200) }));
    for (const f of feeds) await waitFor(`objects of ${f}`, async () => (await countOwned(f)) === 3 + 4 * 8, 300_000, 250);
    await waitFor('the queue to drain', async () => op.queueDepth() === 0, 60_000);
    await sleep(2_000);
    global.gc?.();
    const { rss: rssInProcess, heapUsed } = process.memoryUsage();
    await op.stop();
    stopped = true;
    const child = await operatorProcess();
    const nodeReference = await bareNodeRss();

    const result = {
      at: new Date().toISOString(),
      serverSideApplyMs: Math.round(applyMs * 10) / 10,
      serverSideApplyMsAfter: Math.round(applyMsAfter * 10) / 10,
      loadAverage: loadavg()[0] ?? 0,
      loadAverageAtStart: loadAtStart,
      reconcileCreateMs32Shards: Math.round(createMs),
      reconcileCreateCpuMs32Shards: Math.round(createCpuMs),
      reconcileCreateStepsMs32Shards: createSteps ?? null,
      reconcileUpdateMs32Shards: Math.round(updateMs),
      reconcileUpdateStepsMs32Shards: updateSteps ?? null,
      reconcileSteadyMs32Shards: steady.length > 0 ? Math.round(median(steady) * 10) / 10 : null,
      applyToAllObjectsMs32Shards: Math.round(applyToReadyMs),
      objects32Shards: expected,
      steadyStateWrites: steadyWrites,
      steadyStateWriteUrls: steadyWrites > 0 ? steadyWriteUrls : [],
      steadyStateWindowMs: STEADY_MS,
      feeds: 20,
      rssMiBWith20Feeds: child.rssMiB,
      peakRssMiBWith20Feeds: child.peakMiB,
      reconcilesByProcess: child.reconciles,
      rssMiBBareNode: nodeReference,
      rssMiBInProcessWith20Feeds: mib(rssInProcess),
      heapUsedMiBInProcessWith20Feeds: mib(heapUsed),
      rssMiBBeforeOperator: mib(rssBefore),
      note: '`stockify operator` as its own process once it reconciled all 20 feeds; in-process: the bench process',
    };
    mkdirSync('.local/bench', { recursive: true });
    writeFileSync('.local/bench/operator.json', `${JSON.stringify(result, null, 2)}\n`);
    const perApply = (ms: number) => `${(ms / applyMs).toFixed(0)}× one server-side apply`;
    const stepList = (steps: Record<string, number> | undefined) =>
      steps
        ? Object.entries(steps)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
        : 'not logged';
    process.stdout.write(
      `reference: one server-side apply ${result.serverSideApplyMs} ms before, ${result.serverSideApplyMsAfter} ms after (median); load average ${loadAtStart.toFixed(1)} at the start, ${result.loadAverage.toFixed(1)} at the end\n` +
        `32-shard MarketFeed: creating reconcile ${result.reconcileCreateMs32Shards} ms (${perApply(createMs)}; target ≤ 1500; operator CPU ${result.reconcileCreateCpuMs32Shards} ms); ${expected} objects present ${result.applyToAllObjectsMs32Shards} ms after apply\n` +
        `  its steps (ms; topics and apply run side by side): ${stepList(createSteps)}\n` +
        `32-shard MarketFeed: reconcile of a change to every shard ${result.reconcileUpdateMs32Shards} ms (${perApply(updateMs)})\n` +
        `  its steps (ms): ${stepList(updateSteps)}\n` +
        `steady state: ${steadyWrites} API writes in ${STEADY_MS} ms (must be 0${steadyWrites > 0 ? `: ${steadyWriteUrls.join(', ')}` : ''})${steady.length > 0 ? `; reconcile ${result.reconcileSteadyMs32Shards} ms` : ''}\n` +
        `RSS of \`stockify operator\` with 20 MarketFeeds: ${result.rssMiBWith20Feeds} MiB, peak ${result.peakRssMiBWith20Feeds} MiB (${child.reconciles} reconciles; reference: bare node ${nodeReference} MiB; target ≤ 200)\n` +
        `  in-process: bench process ${result.rssMiBInProcessWith20Feeds} MiB, heap used ${result.heapUsedMiBInProcessWith20Feeds} MiB (before the operator started ${result.rssMiBBeforeOperator} MiB)\n` +
        'wrote .local/bench/operator.json\n',
    );
    if (steadyWrites !== 0) process.exitCode = 1;
  } finally {
    if (!stopped) await op.stop();
    await cluster.deleteNamespace(ns);
    await deleteBenchTopics();
  }
}

await main();
