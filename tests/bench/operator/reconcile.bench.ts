// Operator benchmark against the kube-apiserver of KUBECONFIG (and Kafka of KAFKA_BROKERS):
//   1. time from applying a 32-shard MarketFeed to every owned object present,
//   2. API writes in steady state (must be 0; lease renewals are off here),
//   3. resident memory of the (in-process) operator with 20 MarketFeeds.
// Prints a summary and writes .local/bench/operator.json.
//   node tests/bench/operator/reconcile.bench.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { startOperator } from '../../../operator/controller/operator.ts';
import { createLogger } from '../../../services/core/log.ts';
import { Cluster, feedManifest, manyInstruments, sleep, uniqueName, waitFor } from '../../integration/operator/helpers.ts';

const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 10_000);
const cluster = new Cluster();
const ns = uniqueName('stk-bench');
const log = createLogger({ component: 'operator-bench', level: 'silent' });

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

async function main(): Promise<void> {
  await cluster.installCrd();
  await cluster.createNamespace(ns);
  await cluster.createSecret(ns, 'pg', { url: 'postgres://stockify:stockify@127.0.0.1:5432/stockify' });
  const rssBefore = process.memoryUsage().rss;
  const op = await startOperator({ kubeConfig: cluster.kc, namespace: ns, leaderElect: false, log, resyncMs: 600_000 });
  try {
    // 1. 32 shards: SA + Service + NetworkPolicy + 32 × (ConfigMap + 3 Deployments + 2 HPAs + 2 PDBs)
    const big = uniqueName('big');
    const expected = 3 + 32 * 8;
    const t0 = performance.now();
    await cluster.applyFeed(feedManifest(ns, big, { shards: 32, instruments: manyInstruments(2000) }));
    await waitFor('every object of the 32-shard feed', async () => (await countOwned(big)) === expected, 300_000, 100);
    const applyToReadyMs = performance.now() - t0;

    // 2. steady state
    await waitFor('the queue to drain', async () => op.queueDepth() === 0, 60_000);
    await sleep(1_000);
    const writesBefore = op.requests.writeCount();
    await sleep(STEADY_MS);
    const steadyWrites = op.requests.writeCount() - writesBefore;

    // 3. 20 MarketFeeds
    const feeds = Array.from({ length: 19 }, () => uniqueName('mf'));
    for (const f of feeds) await cluster.applyFeed(feedManifest(ns, f, { shards: 4, instruments: manyInstruments(200) }));
    for (const f of feeds) await waitFor(`objects of ${f}`, async () => (await countOwned(f)) === 3 + 4 * 8, 300_000, 250);
    await waitFor('the queue to drain', async () => op.queueDepth() === 0, 60_000);
    global.gc?.();
    const { rss: rss20, heapUsed } = process.memoryUsage();

    const result = {
      at: new Date().toISOString(),
      applyToAllObjectsMs32Shards: Math.round(applyToReadyMs),
      objects32Shards: expected,
      steadyStateWrites: steadyWrites,
      steadyStateWindowMs: STEADY_MS,
      feeds: 20,
      rssBytesWith20Feeds: rss20,
      rssMiBWith20Feeds: Math.round((rss20 / 1048576) * 10) / 10,
      heapUsedMiBWith20Feeds: Math.round((heapUsed / 1048576) * 10) / 10,
      rssMiBBeforeOperator: Math.round((rssBefore / 1048576) * 10) / 10,
      note: 'RSS of the benchmark process, which runs the operator in-process',
    };
    mkdirSync('.local/bench', { recursive: true });
    writeFileSync('.local/bench/operator.json', `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      `32-shard MarketFeed: ${expected} objects present ${result.applyToAllObjectsMs32Shards} ms after apply\n` +
        `steady state: ${steadyWrites} API writes in ${STEADY_MS} ms (must be 0)\n` +
        `RSS with 20 MarketFeeds: ${result.rssMiBWith20Feeds} MiB (heap used ${result.heapUsedMiBWith20Feeds} MiB)\n` +
        'wrote .local/bench/operator.json\n',
    );
    if (steadyWrites !== 0) process.exitCode = 1;
  } finally {
    await op.stop();
    await cluster.deleteNamespace(ns);
  }
}

await main();
