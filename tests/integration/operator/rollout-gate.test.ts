// One Dhan ingestion rollout per account at a time, against the real kube-apiserver: a spec change
// that alters every ingestion pod template of a Dhan feed whose shards hold several connections
// rolls the holders one by one. There is no kubelet: the test plays the Deployment controller's
// "rolled out" status (Cluster.markAvailable) and checks that the next holder follows only then.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { type RunningOperator, startOperator } from '../../../operator/controller/operator.ts';
import { ANNOTATION_TEMPLATE_HASH, isRolling, type RolloutStatusView } from '../../../operator/controller/rollout-gate.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { deploymentName, dhanBudget } from '../../../operator/desired/index.ts';
import { createLogger } from '../../../services/core/log.ts';
import { Cluster, condition, feedManifest, sleep, uniqueName, waitFor } from './helpers.ts';

const log = createLogger({ component: 'rollout-gate-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const cluster = new Cluster();
const ns = uniqueName('stk-gate');
const FEED = 'opts';
const SHARDS = 4;
let operator: RunningOperator | undefined;

type Deployment = KubernetesObject & RolloutStatusView;

const spec = (cpu: string): Record<string, unknown> => ({
  shards: SHARDS,
  source: { type: 'dhan', dhan: { credentialsSecretRef: { name: 'dhan-creds' }, mode: 'ticker' } },
  // Each underlying with 6 expiries × 200 strikes takes 4,813 subscriptions: one connection each.
  instruments: ['13', '25', '51'].map((id, i) => ({
    symbol: `IDX${i}`,
    securityId: id,
    segment: 'IDX_I',
    kind: 'index',
    optionChain: { expiries: 6, strikes: 200 },
  })),
  ingestion: { resources: { requests: { cpu } } },
});

const read = async (name: string): Promise<Deployment> =>
  (await cluster.apps.readNamespacedDeployment({ name, namespace: ns })) as unknown as Deployment;
const templateHash = async (name: string): Promise<string | undefined> =>
  (await read(name)).metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH];

const cpuOf = async (name: string): Promise<string | undefined> => {
  const d = await cluster.apps.readNamespacedDeployment({ name, namespace: ns });
  return d.spec?.template.spec?.containers[0]?.resources?.requests?.cpu;
};

before(async () => {
  await cluster.installCrd();
  await cluster.createNamespace(ns);
  await cluster.createSecret(ns, 'pg', { url: 'postgres://stockify:stockify@127.0.0.1:5432/stockify' });
  await cluster.createSecret(ns, 'dhan-creds', { clientId: 'c', accessToken: 't' });
  operator = await startOperator({ kubeConfig: cluster.kc, namespace: ns, leaderElect: false, log, resyncMs: 600_000 });
});

after(async () => {
  await operator?.stop();
  await cluster.deleteNamespace(ns);
});

test('a template change of every ingestion Deployment rolls the connection holders one at a time', async () => {
  await cluster.applyFeed(feedManifest(ns, FEED, spec('100m')));
  const plan = dhanBudget(parseMarketFeed(await cluster.getFeed(ns, FEED)));
  assert.ok(plan?.ok, 'the feed fits its account');
  const holders = plan.budget.shards
    .filter((s) => s.connections.length > 0)
    .map((s) => deploymentName(FEED, 'ingestion', s.shard));
  assert.equal(holders.length, 3, `three shards hold a connection: ${holders.join(', ')}`);
  const others = Array.from({ length: SHARDS }, (_, s) => deploymentName(FEED, 'ingestion', s)).filter(
    (n) => !holders.includes(n),
  );

  // Created at once (no rollout yet), then settled as the Deployment controller would.
  const before = new Map<string, string>();
  for (const name of holders) {
    before.set(name, await waitFor(`${name} created`, () => templateHash(name)));
    await cluster.markAvailable(ns, name);
  }
  await waitFor('every holder rolled out', async () => {
    for (const name of holders) if (isRolling(await read(name))) return false;
    return true;
  });

  const started = Date.now();
  await cluster.applyFeed(feedManifest(ns, FEED, spec('150m')));
  const updated: string[] = [];
  const timings: number[] = [];
  while (updated.length < holders.length) {
    const next = await waitFor(
      `holder #${updated.length + 1} to get the new template`,
      async () => {
        const changed: string[] = [];
        for (const name of holders) if ((await templateHash(name)) !== before.get(name)) changed.push(name);
        const fresh = changed.filter((n) => !updated.includes(n));
        assert.ok(fresh.length <= 1, `at most one holder starts rolling at a time; changed now: ${fresh.join(', ')}`);
        return fresh[0];
      },
      60_000,
    );
    timings.push(Date.now() - started);
    updated.push(next);
    if (updated.length === 1) {
      // The shards without a connection are not held (their ingestion opens none): they follow at once.
      for (const name of others) {
        await waitFor(`${name} (no connection) updated at once`, async () => (await cpuOf(name)) === '150m', 10_000);
      }
    }
    // It stays the only one while it rolls: the others are held (and the status says so).
    await sleep(4_000);
    for (const name of holders.filter((n) => !updated.includes(n))) {
      assert.equal(await templateHash(name), before.get(name), `${name} held while ${next} rolls`);
    }
    if (updated.length < holders.length) {
      const progressing = condition(await cluster.getFeed(ns, FEED), 'Progressing');
      assert.match(progressing?.message ?? '', new RegExp(`waiting for ${next} to finish rolling: one spare Dhan connection`));
    }
    await cluster.markAvailable(ns, next);
  }
  assert.deepEqual([...updated].sort(), [...holders].sort());
  const final = condition(await cluster.getFeed(ns, FEED), 'Progressing');
  log.info({ order: updated, timings, final }, 'holders rolled one at a time');
  process.stdout.write(`# holders ${updated.join(' → ')} got the new template at ${timings.map((t) => `${t} ms`).join(', ')}\n`);
});
