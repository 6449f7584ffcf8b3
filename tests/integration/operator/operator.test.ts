import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ManualClock } from '../../../operator/controller/clock.ts';
import { type RunningOperator, startOperator } from '../../../operator/controller/operator.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { desiredObjects } from '../../../operator/desired/index.ts';
import { createLogger } from '../../../services/core/log.ts';
import { movedInstruments, shardOf } from '../../../services/core/sharding.ts';
import { Cluster, condition, type FeedObject, feedManifest, manyInstruments, sleep, uniqueName, waitFor } from './helpers.ts';

const log = createLogger({ component: 'operator-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const cluster = new Cluster();
const ns = uniqueName('stk-op');
const running: RunningOperator[] = [];

async function operator(opts: Parameters<typeof startOperator>[0] = {}): Promise<RunningOperator> {
  const op = await startOperator({
    kubeConfig: cluster.kc,
    namespace: ns,
    leaderElect: false,
    log,
    drainCheckMs: 300,
    resyncMs: 600_000,
    ...opts,
  });
  running.push(op);
  return op;
}

async function stop(op: RunningOperator): Promise<void> {
  await op.stop();
  running.splice(running.indexOf(op), 1);
}

const instanceSelector = (feed: string) => `app.kubernetes.io/instance=${feed}`;
const KINDS: [string, string][] = [
  ['apps/v1', 'Deployment'],
  ['v1', 'ConfigMap'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['v1', 'Service'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['v1', 'ServiceAccount'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
];

async function ownedNames(feed: string): Promise<string[]> {
  const out: string[] = [];
  for (const [apiVersion, kind] of KINDS) {
    for (const o of await cluster.list(ns, apiVersion, kind, instanceSelector(feed))) out.push(`${kind}/${o.metadata?.name}`);
  }
  return out.sort();
}

async function shardConfigMaps(feed: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const cm of (await cluster.list(ns, 'v1', 'ConfigMap', instanceSelector(feed))) as (KubernetesObject & {
    data?: Record<string, string>;
  })[]) {
    const file = JSON.parse(cm.data?.['shard.json'] ?? '{}') as {
      shard: number;
      instruments: { segment: string; securityId: string }[];
    };
    out.set(
      file.shard,
      file.instruments.map((i) => `${i.segment}:${i.securityId}`),
    );
  }
  return out;
}

before(async () => {
  await cluster.installCrd();
  await cluster.createNamespace(ns);
  await cluster.createSecret(ns, 'pg', { url: 'postgres://stockify:stockify@127.0.0.1:5432/stockify' });
});

after(async () => {
  for (const op of [...running]) await op.stop();
  await cluster.deleteNamespace(ns);
});

describe('MarketFeed operator against a real kube-apiserver', () => {
  const feed = uniqueName('nifty');
  let op: RunningOperator;
  after(async () => {
    if (running.includes(op)) await stop(op);
  });

  test('applying a 4-shard MarketFeed creates exactly the expected objects with labels and ownerReferences', async () => {
    op = await operator();
    await cluster.applyFeed(feedManifest(ns, feed, { shards: 4, instruments: manyInstruments(40) }));
    const live = await cluster.getFeed(ns, feed);
    const expected = desiredObjects(parseMarketFeed(live))
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .sort();
    assert.equal(expected.length, 3 + 4 * 8);
    await waitFor('every owned object', async () => (await ownedNames(feed)).length === expected.length);
    assert.deepEqual(await ownedNames(feed), expected);
    for (const [apiVersion, kind] of KINDS) {
      for (const o of await cluster.list(ns, apiVersion, kind, instanceSelector(feed))) {
        assert.equal(o.metadata?.labels?.['app.kubernetes.io/managed-by'], 'stockify-operator');
        assert.deepEqual(
          o.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
          [['MarketFeed', feed, live.metadata?.uid, true]],
        );
        const managers = (o.metadata?.managedFields ?? []).map((m) => m.manager);
        assert.ok(managers.includes('stockify-operator'), `${kind} applied with field manager stockify-operator`);
      }
    }
  });

  test('status becomes Ready once every Deployment is available', async () => {
    const deployments = await cluster.list(ns, 'apps/v1', 'Deployment', instanceSelector(feed));
    const ready = await waitFor('Ready=True', async () => {
      for (const d of deployments) await cluster.markAvailable(ns, d.metadata?.name ?? '');
      const f = await cluster.getFeed(ns, feed);
      return condition(f, 'Ready')?.status === 'True' ? f : undefined;
    });
    assert.equal(ready.status?.shards, 4);
    assert.equal(ready.status?.selector, `app.kubernetes.io/instance=${feed}`);
    assert.equal(ready.status?.observedGeneration, ready.metadata?.generation);
    assert.equal(condition(ready, 'Degraded')?.status, 'False');
    assert.equal(condition(ready, 'MarketOpen')?.reason, 'AlwaysOpen');
  });

  test('a deleted owned Deployment comes back', async () => {
    const name = `${feed}-processor-1`;
    const before = await cluster.apps.readNamespacedDeployment({ name, namespace: ns });
    await cluster.apps.deleteNamespacedDeployment({ name, namespace: ns });
    const back = await waitFor('the Deployment to be recreated', async () => {
      const d = await cluster.apps.readNamespacedDeployment({ name, namespace: ns });
      return d.metadata?.uid !== before.metadata?.uid ? d : undefined;
    });
    assert.equal(back.metadata?.labels?.['stockify.io/shard'], '1');
  });

  test('a dropped watch resumes, and a watch from a compacted resourceVersion (410 Gone) relists', async () => {
    const watcher = op.owned.get('Deployment');
    assert.ok(watcher);
    await watcher.stop();
    const name = `${feed}-storage-2`;
    const gone = await cluster.apps.readNamespacedDeployment({ name, namespace: ns });
    await cluster.apps.deleteNamespacedDeployment({ name, namespace: ns });
    // Resume from a resourceVersion the API server no longer serves: it answers 410 and the informer relists.
    (watcher.informer as unknown as { resourceVersion: string }).resourceVersion = '1';
    assert.equal(await watcher.start(), true);
    const back = await waitFor('the Deployment deleted while unwatched to be recreated', async () => {
      const d = await cluster.apps.readNamespacedDeployment({ name, namespace: ns });
      return d.metadata?.uid !== gone.metadata?.uid ? d : undefined;
    });
    assert.ok(back);
  });

  test('scaling 4→6→3 creates and removes the right shards and moves the fewest instruments', async () => {
    const ids = manyInstruments(40).map((i) => `${i.segment}:${i.securityId}`);
    await cluster.scaleFeed(ns, feed, 6);
    const six = await waitFor('6 shard ConfigMaps with shardCount 6', async () => {
      const m = await shardConfigMaps(feed);
      return m.size === 6 && [...m.values()].flat().length === ids.length ? m : undefined;
    });
    for (const [shard, list] of six) for (const id of list) assert.equal(shardOf(id, 6), shard, `${id} in shard ${shard}`);
    const moved = movedInstruments(ids, 4, 6);
    assert.ok(
      moved.every((m) => m.to >= 4),
      'instruments move only into the new shards',
    );
    assert.ok(moved.length <= Math.ceil(ids.length * 0.5), `moved ${moved.length} of ${ids.length}`);
    await waitFor(
      '18 Deployments',
      async () => (await cluster.list(ns, 'apps/v1', 'Deployment', instanceSelector(feed))).length === 18,
    );

    await cluster.scaleFeed(ns, feed, 3);
    await waitFor(
      'shards 3..5 drained and deleted',
      async () => {
        const deployments = await cluster.list(ns, 'apps/v1', 'Deployment', instanceSelector(feed));
        return deployments.length === 9 && (await shardConfigMaps(feed)).size === 3;
      },
      60_000,
    );
    const three = await shardConfigMaps(feed);
    for (const [shard, list] of three) for (const id of list) assert.equal(shardOf(id, 3), shard);
    const names = await ownedNames(feed);
    assert.ok(!names.some((n) => /-(3|4|5)$/.test(n)), `no object of a removed shard is left: ${names.join(' ')}`);
    const f = await waitFor('status.shards 3', async () => {
      const x = await cluster.getFeed(ns, feed);
      return x.status?.shards === 3 ? x : undefined;
    });
    assert.equal(f.status?.shards, 3);
  });

  test('kubectl scale of a processor Deployment holds when autoscaling is off', async () => {
    const fixed = uniqueName('fixed');
    await cluster.applyFeed(
      feedManifest(ns, fixed, {
        shards: 1,
        instruments: manyInstruments(3),
        processor: { replicas: 2 },
        storage: { replicas: 1 },
      }),
    );
    const name = `${fixed}-processor-0`;
    await waitFor(
      'the fixed-size processor',
      async () => (await cluster.apps.readNamespacedDeployment({ name, namespace: ns })).spec?.replicas === 2,
    );
    await cluster.apps.patchNamespacedDeploymentScale(
      { name, namespace: ns, body: { spec: { replicas: 5 } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    // Any change to the feed makes the operator re-apply everything of it.
    await cluster.applyFeed(
      feedManifest(ns, fixed, {
        shards: 1,
        instruments: manyInstruments(3),
        processor: { replicas: 2 },
        storage: { replicas: 1 },
        retentionDays: 7,
      }),
    );
    await waitFor('the re-apply (retentionDays 7 in the shard file)', async () => {
      const m = await shardConfigMaps(fixed);
      const cm =
        (await cluster.core.readNamespacedConfigMap({ name: `${fixed}-shard-0`, namespace: ns })).data?.['shard.json'] ?? '';
      return m.size === 1 && cm.includes('"retentionDays": 7');
    });
    await sleep(500);
    assert.equal((await cluster.apps.readNamespacedDeployment({ name, namespace: ns })).spec?.replicas, 5);
  });

  test('a restarted operator makes zero writes in steady state', async () => {
    await stop(op);
    op = await operator();
    await waitFor(
      'the restarted operator to reconcile every feed',
      async () => op.isSynced() && op.reconcileCount() >= 2 && op.queueDepth() === 0,
    );
    await sleep(2_000);
    assert.equal(op.requests.writeCount(), 0, `writes: ${JSON.stringify(op.requests.writes)}`);
  });

  test('a missing Secret shows as Degraded with an Event, and the operator keeps going', async () => {
    const bad = uniqueName('nosecret');
    await cluster.applyFeed(
      feedManifest(ns, bad, { shards: 1, instruments: manyInstruments(2), postgres: { secretRef: { name: 'missing' } } }),
    );
    const f = await waitFor('Degraded=True', async () => {
      const x = await cluster.getFeed(ns, bad);
      return condition(x, 'Degraded')?.status === 'True' ? x : undefined;
    });
    assert.equal(condition(f, 'Degraded')?.reason, 'SecretNotFound');
    assert.match(condition(f, 'Degraded')?.message ?? '', /missing/);
    const events = await waitFor('a SecretNotFound event', async () => {
      const list = await cluster.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${bad}` });
      return list.items.some((e) => e.reason === 'SecretNotFound') ? list.items : undefined;
    });
    assert.ok(events.length > 0);
    assert.equal((await ownedNames(bad)).filter((n) => n.startsWith('Deployment/')).length, 3, 'objects are still applied');
  });
});

describe('leader election', () => {
  test('of two operator instances exactly one leads, and the other takes over when it stops', async () => {
    const lease = uniqueName('lease');
    const common = { leaderElect: true, leaseNamespace: ns, leaseName: lease, leaseDurationSeconds: 2, retryPeriodMs: 200 };
    const a = await operator({ ...common, identity: 'op-a' });
    const b = await operator({ ...common, identity: 'op-b' });
    await waitFor('one leader', async () => a.isLeader() || b.isLeader());
    await sleep(1_000);
    assert.equal(Number(a.isLeader()) + Number(b.isLeader()), 1, 'exactly one leads');
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    const held = await cluster.kc
      .makeApiClient((await import('@kubernetes/client-node')).CoordinationV1Api)
      .readNamespacedLease({ name: lease, namespace: ns });
    assert.equal(held.spec?.holderIdentity, leader.identity);
    await stop(leader);
    await waitFor('the standby to take over', async () => standby.isLeader(), 10_000);
    await stop(standby);
  });
});

describe('market hours', () => {
  test('MarketOpen flips at the schedule boundary, and ingestion and HPA minimums drop', async () => {
    // Monday 2026-11-23 15:29:00 IST; the window closes at 15:30.
    const clock = new ManualClock(Date.parse('2026-11-23T09:59:00Z'));
    const op = await operator({ clock });
    const feed = uniqueName('hours');
    await cluster.applyFeed(
      feedManifest(ns, feed, {
        shards: 1,
        instruments: manyInstruments(2),
        processor: { autoscaling: { minReplicas: 2, maxReplicas: 3 } },
        schedule: {
          timezone: 'Asia/Kolkata',
          open: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], from: '09:15', to: '15:30' }],
          closed: { minReplicas: 0 },
        },
      }),
    );
    const open = await waitFor('MarketOpen=True', async () => {
      const f = await cluster.getFeed(ns, feed);
      return condition(f, 'MarketOpen')?.status === 'True' ? f : undefined;
    });
    assert.equal((open.status as { nextScheduleBoundary?: string }).nextScheduleBoundary, '2026-11-23T10:00:00Z');
    assert.equal((await cluster.apps.readNamespacedDeployment({ name: `${feed}-ingestion-0`, namespace: ns })).spec?.replicas, 1);
    clock.advance(59_999);
    await sleep(500);
    assert.equal(condition(await cluster.getFeed(ns, feed), 'MarketOpen')?.status, 'True', 'still open a millisecond before');
    clock.advance(1);
    const closed = await waitFor('MarketOpen=False', async () => {
      const f = await cluster.getFeed(ns, feed);
      return condition(f, 'MarketOpen')?.status === 'False' ? f : undefined;
    });
    assert.equal(condition(closed, 'MarketOpen')?.lastTransitionTime, '2026-11-23T10:00:00Z');
    await waitFor(
      'ingestion scaled to 0',
      async () =>
        (await cluster.apps.readNamespacedDeployment({ name: `${feed}-ingestion-0`, namespace: ns })).spec?.replicas === 0,
    );
    const hpa = await cluster.objects.read({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: `${feed}-processor-0`, namespace: ns },
    });
    assert.equal((hpa as KubernetesObject & { spec: { minReplicas: number } }).spec.minReplicas, 1);
    await stop(op);
  });
});

export type { FeedObject };

describe('CRD validation by the API server', () => {
  const rejects = async (spec: Record<string, unknown>, pattern: RegExp): Promise<void> => {
    await assert.rejects(
      cluster.applyFeed(feedManifest(ns, uniqueName('bad'), { instruments: manyInstruments(1), ...spec })),
      (err: unknown) => {
        const e = err as { code?: number; body?: unknown };
        assert.equal(e.code, 422);
        assert.match(String(typeof e.body === 'string' ? e.body : JSON.stringify(e.body)), pattern);
        return true;
      },
    );
  };

  test('minReplicas above maxReplicas is rejected by CEL', () =>
    rejects({ processor: { autoscaling: { minReplicas: 3, maxReplicas: 2 } } }, /must not exceed maxReplicas/));

  test('maxReplicas above partitionsPerShard is rejected by CEL', () =>
    rejects({ storage: { autoscaling: { minReplicas: 1, maxReplicas: 4 } } }, /must not exceed kafka.partitionsPerShard/));

  test('a window that closes before it opens is rejected by CEL', () =>
    rejects({ schedule: { open: [{ days: ['Mon'], from: '15:00', to: '09:00' }] } }, /must be before to/));

  test('zero shards is rejected', () => rejects({ shards: 0 }, /spec.shards/));

  test('a time zone that is not IANA-shaped is rejected', () =>
    rejects({ schedule: { timezone: 'not a zone' } }, /spec.schedule.timezone/));
});
