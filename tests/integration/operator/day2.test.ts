// Day-2 operations against the real kube-apiserver (and Kafka): the operator runs as a
// ServiceAccount holding only the chart's per-namespace Role (watchNamespaces), reconciles its
// watched namespace and nothing else, reads Secrets there only, rolls the pods that read a rotated
// Secret at once, raises HPA floors from the consumer lag it measures, restarts one component
// Deployment by Deployment gated on lag, pauses on an annotation; the feed NetworkPolicy passes a
// server-side dry run and the evaluator answers who may connect from what the API server returned.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig, type KubernetesObject, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { toModel } from '../../../operator/controller/kube.ts';
import { type RunningOperator, startOperator } from '../../../operator/controller/operator.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { networkPolicy } from '../../../operator/desired/networkpolicy.ts';
import {
  allowed,
  type Endpoint,
  egressAllowed,
  ingressAllowed,
  type Policy,
} from '../../../operator/desired/networkpolicy-eval.ts';
import { createKafka } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import { consumerGroup, rawTopic } from '../../../services/core/topics.ts';
import { startProcessor } from '../../../services/processor/consumer.ts';
import { chart, helmBin, ok } from '../chart/tools.ts';
import { generateSession, shardFile } from '../processor/session.ts';
import {
  brokers,
  Cluster,
  condition,
  type FeedObject,
  feedManifest,
  manyInstruments,
  sleep,
  uniqueName,
  waitFor,
} from './helpers.ts';

const log = createLogger({ component: 'day2-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const cluster = new Cluster();
const watched = uniqueName('stk-d2a');
const other = uniqueName('stk-d2b');
const opNs = uniqueName('stk-d2op');
const RELEASE = 'x';
const SA = `${RELEASE}-stockify-operator`;
const FEED = 'nifty';
/** A MarketFeed manifest with a few instruments. */
const manifest = (ns: string, name: string, spec: Record<string, unknown>) =>
  feedManifest(ns, name, { instruments: manyInstruments(6), ...spec });
let operator: RunningOperator | undefined;
let saConfig: KubeConfig;

type Deployment = KubernetesObject & {
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
};
type Hpa = KubernetesObject & { spec?: { minReplicas?: number; maxReplicas?: number } };
type Feed = FeedObject & {
  status?: FeedObject['status'] & {
    restart?: { request: string; phase: string; message: string; done?: string[] };
  };
};

const getFeed = async (ns = watched, name = FEED): Promise<Feed> => (await cluster.getFeed(ns, name)) as Feed;
const deployment = async (name: string, ns = watched): Promise<Deployment> =>
  (await cluster.apps.readNamespacedDeployment({ name, namespace: ns })) as unknown as Deployment;
const templateAnnotation = async (name: string, key: string): Promise<string | undefined> =>
  (await deployment(name)).spec?.template?.metadata?.annotations?.[key];

async function annotateFeed(annotations: Record<string, string | null>): Promise<void> {
  await cluster.custom.patchNamespacedCustomObject(
    {
      group: 'stockify.io',
      version: 'v1alpha1',
      namespace: watched,
      plural: 'marketfeeds',
      name: FEED,
      body: { metadata: { annotations } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** The chart's RBAC for watchNamespaces=[watched], rendered by helm and applied as the chart would. */
async function installNamespacedRbac(): Promise<void> {
  const out = ok(helmBin, [
    'template',
    RELEASE,
    chart,
    '--namespace',
    opNs,
    '--show-only',
    'templates/rbac.yaml',
    '--set',
    `watchNamespaces={${watched}}`,
    '--set',
    'leaderElection.enabled=false',
  ]);
  const docs = parseAllDocuments(out)
    .map((d) => d.toJS() as KubernetesObject)
    .filter(Boolean);
  assert.deepEqual(
    docs.map((d) => `${d.kind}/${d.metadata?.namespace}`).sort(),
    [`Role/${watched}`, `RoleBinding/${watched}`],
    'namespaced mode: a Role and RoleBinding in the watched namespace, no ClusterRole',
  );
  for (const d of docs) await cluster.objects.create(d);
}

/** A kubeconfig that authenticates as the operator's ServiceAccount (TokenRequest API). */
async function serviceAccountConfig(): Promise<KubeConfig> {
  await cluster.core.createNamespacedServiceAccount({ namespace: opNs, body: { metadata: { name: SA } } });
  const token = await cluster.core.createNamespacedServiceAccountToken({
    name: SA,
    namespace: opNs,
    body: { spec: { expirationSeconds: 3600 } },
  });
  const c = cluster.kc.getCurrentCluster();
  if (!c || !token.status?.token) throw new Error('no cluster or no token');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [c],
    users: [{ name: 'operator-sa', token: token.status.token }],
    contexts: [{ name: 'sa', cluster: c.name, user: 'operator-sa' }],
    currentContext: 'sa',
  });
  return kc;
}

before(async () => {
  await cluster.installCrd();
  for (const ns of [watched, other, opNs]) await cluster.createNamespace(ns);
  for (const ns of [watched, other]) await cluster.createSecret(ns, 'pg', { url: 'postgres://a@db:5432/one' });
  await installNamespacedRbac();
  saConfig = await serviceAccountConfig();
  operator = await startOperator({
    kubeConfig: saConfig,
    namespaces: [watched],
    watchSecrets: true,
    leaderElect: false,
    log,
    resyncMs: 600_000, // what happens below happens through watches, not the resync
    lagCheckMs: 500,
  });
  await waitFor('the operator informers to sync with the Role alone', async () => operator?.isSynced());
});

after(async () => {
  await operator?.stop();
  for (const ns of [watched, other, opNs]) await cluster.deleteNamespace(ns);
});

describe('least privilege: the chart Role of a watched namespace', () => {
  test('the operator identity reads Secrets in its watched namespace only', async () => {
    const core = saConfig.makeApiClient(CoreV1Api);
    const secret = await core.readNamespacedSecret({ name: 'pg', namespace: watched });
    assert.ok(secret.data?.url);
    await assert.rejects(core.readNamespacedSecret({ name: 'pg', namespace: other }), (e: { code?: number }) => e.code === 403);
    await assert.rejects(core.listNamespacedSecret({ namespace: other }), (e: { code?: number }) => e.code === 403);
    await assert.rejects(core.listSecretForAllNamespaces(), (e: { code?: number }) => e.code === 403);
  });

  test('a feed in the watched namespace is reconciled under the Role alone; one elsewhere is left alone', async () => {
    const spec = {
      shards: 2,
      processor: { autoscaling: { minReplicas: 1, maxReplicas: 3, lagPerReplica: 10 } },
    };
    await cluster.applyFeed(manifest(other, FEED, spec));
    await cluster.applyFeed(manifest(watched, FEED, spec));
    await waitFor(
      'the watched feed to be reconciled',
      async () => (await cluster.list(watched, 'apps/v1', 'Deployment', `app.kubernetes.io/instance=${FEED}`)).length === 6,
    );
    const feed = await waitFor('the status', async () => {
      const f = await getFeed();
      return condition(f, 'Degraded') ? f : undefined;
    });
    assert.equal(condition(feed, 'Degraded')?.status, 'False', condition(feed, 'Degraded')?.message);
    await sleep(500);
    assert.equal((await cluster.list(other, 'apps/v1', 'Deployment', '')).length, 0);
    assert.equal((await getFeed(other)).status, undefined, 'no status written outside the watched namespace');
  });
});

describe('Secrets watched', () => {
  test('a rotated database Secret rolls the storage pods at once, and only them', async () => {
    // A feed that nothing else requeues (no lag scaling, no schedule, no problem): only the
    // Secret's watch event can make the operator look at it again (the resync is 10 minutes).
    const noLag = { autoscaling: { minReplicas: 1, maxReplicas: 3, lagPerReplica: 0 } };
    await cluster.createSecret(watched, 'pg-rot', { url: 'postgres://a@db:5432/one' });
    await cluster.applyFeed(
      manifest(watched, 'rot', { shards: 1, processor: noLag, storage: noLag, postgres: { secretRef: { name: 'pg-rot' } } }),
    );
    const storage = 'rot-storage-0';
    const before = await waitFor('the storage template to carry the Secret hash', () =>
      templateAnnotation(storage, 'stockify.io/secret-hash'),
    );
    assert.equal(await templateAnnotation('rot-processor-0', 'stockify.io/secret-hash'), undefined);
    assert.equal(await templateAnnotation('rot-ingestion-0', 'stockify.io/secret-hash'), undefined);
    await sleep(1_000); // settled: the feed's own reconciles are over
    const started = Date.now();
    await cluster.core.replaceNamespacedSecret({
      name: 'pg-rot',
      namespace: watched,
      body: { metadata: { name: 'pg-rot' }, stringData: { url: 'postgres://a@db:5432/rotated' } },
    });
    const after = await waitFor(
      'the storage template hash to change',
      async () => {
        const h = await templateAnnotation(storage, 'stockify.io/secret-hash');
        return h !== before ? h : undefined;
      },
      10_000,
      100,
    );
    log.info({ ms: Date.now() - started }, 'rotation rolled');
    assert.notEqual(after, before);
    assert.equal(await templateAnnotation('rot-processor-0', 'stockify.io/secret-hash'), undefined, 'processor reads no Secret');
  });

  test('a late database Secret clears SecretNotFound at once', async () => {
    await cluster.applyFeed(manifest(watched, 'late', { postgres: { secretRef: { name: 'pg-late' } } }));
    await waitFor(
      'SecretNotFound',
      async () => condition(await getFeed(watched, 'late'), 'Degraded')?.reason === 'SecretNotFound',
    );
    await cluster.createSecret(watched, 'pg-late', { url: 'postgres://a@db:5432/late' });
    await waitFor(
      'Degraded to clear',
      async () => condition(await getFeed(watched, 'late'), 'Degraded')?.status === 'False',
      10_000,
    );
  });
});

describe('NetworkPolicy', () => {
  const f = parseMarketFeed({ ...manifest(watched, FEED, {}), metadata: { name: FEED, namespace: watched, uid: 'u' } });
  const client: Endpoint = { namespace: watched, labels: { 'stockify.io/client': 'true' }, ip: '10.0.0.9' };
  const stranger: Endpoint = { namespace: watched, labels: { app: 'x' }, ip: '10.0.0.10' };
  const storage: Endpoint = {
    namespace: watched,
    labels: {
      'app.kubernetes.io/name': 'storage',
      'app.kubernetes.io/instance': FEED,
      'app.kubernetes.io/managed-by': 'stockify-operator',
    },
    ip: '10.0.0.11',
  };

  test('the built policy passes a server-side dry run, and what the API server returns admits only the allowed', async () => {
    const { ownerReferences: _o, ...metadata } = networkPolicy(f).metadata;
    const body = { ...networkPolicy(f), metadata: { ...metadata, name: 'dry-run-np' } };
    // As the operator sends it: through client-node's models (a plain `from` would be dropped by its
    // serializer, which names the field `_from`).
    const returned = (await cluster.objects.create(toModel(body as KubernetesObject), undefined, 'All')) as unknown as Policy;
    assert.ok((returned.spec?.ingress?.[0]?._from ?? []).length >= 3, 'the from peers reached the API server');
    const policies = [returned];
    assert.equal(allowed(policies, { from: client, to: storage, port: 50051 }), true);
    assert.equal(allowed(policies, { from: stranger, to: storage, port: 50051 }), false);
    assert.equal(ingressAllowed(policies, { from: { namespace: 'monitoring', labels: {} }, to: storage, port: 9464 }), true);
    const out = (port: number) => egressAllowed(policies, { from: storage, to: { namespace: '', ip: '192.0.2.1' }, port });
    assert.equal(out(5432), true);
    assert.equal(out(443), false, 'a simulator feed does not reach out on 443');
    const list = await cluster.list(watched, 'networking.k8s.io/v1', 'NetworkPolicy', '');
    assert.ok(!list.some((p) => p.metadata?.name === 'dry-run-np'), 'a dry run stores nothing');
  });

  test('the dry run refuses a malformed CIDR (it validates, so the acceptance above means something)', async () => {
    const bad = parseMarketFeed({
      ...manifest(watched, FEED, { networkPolicy: { egress: { kafka: { cidrs: ['10.0.0.0/40'] } } } }),
      metadata: { name: FEED, namespace: watched },
    });
    await assert.rejects(
      cluster.objects.create(toModel(networkPolicy(bad) as KubernetesObject), undefined, 'All'),
      (e: { code?: number }) => e.code === 422,
    );
  });

  test('the policy the operator applied (as its ServiceAccount) is the one evaluated', async () => {
    const [live] = (await cluster.list(
      watched,
      'networking.k8s.io/v1',
      'NetworkPolicy',
      `app.kubernetes.io/instance=${FEED}`,
    )) as unknown as Policy[];
    assert.ok(live);
    assert.deepEqual(live.spec?.policyTypes, ['Ingress', 'Egress']);
    assert.equal(allowed([live], { from: client, to: storage, port: 50051 }), true);
    assert.equal(allowed([live], { from: stranger, to: storage, port: 50051 }), false);
  });
});

describe('scale on lag', () => {
  test("25 unread records raise processor-0's HPA floor to 3 (lagPerReplica 10, 3 partitions); status shows the lag", async () => {
    const kafka = createKafka(brokers().split(','), 'day2-test', log);
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: rawTopic(watched, FEED, 0),
        messages: Array.from({ length: 25 }, (_, i) => ({ key: `k${i}`, value: Buffer.from([i]) })),
      });
    } finally {
      await producer.disconnect();
    }
    const started = Date.now();
    await waitFor(
      'the HPA floor to rise',
      async () => {
        const h = (await cluster.objects.read({
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: `${FEED}-processor-0`, namespace: watched },
        })) as Hpa;
        return h.spec?.minReplicas === 3;
      },
      15_000,
    );
    log.info({ ms: Date.now() - started }, 'floor raised');
    // The status is written after the HPA in the same reconcile: look until it is there.
    await waitFor('status to show the lag of shard 0', async () => {
      const shards = ((await getFeed()).status?.shardStatuses ?? []) as { index: number; processorLag?: number }[];
      return shards.find((s) => s.index === 0)?.processorLag === 25;
    });
    const h1 = (await cluster.objects.read({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: `${FEED}-processor-1`, namespace: watched },
    })) as Hpa;
    assert.equal(h1.spec?.minReplicas, 1, 'shard 1 has no lag');
  });

  test('records produced, processed and committed, market closed: the processor floors drop to the closed minimum within a couple of lag checks', async () => {
    // The e2e saw processor floors stay at 2 for over 120 s after the close: the processor's committed
    // offset is its replay point, held at the first record of every 1-minute bar still open, and no
    // record closes those bars once the market is shut, so a minute of processed records counted as lag.
    const name = 'closing';
    const hpaOf = async (component: string): Promise<Hpa> =>
      (await cluster.objects.read({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: `${name}-${component}-0`, namespace: watched },
      })) as Hpa;
    const open = {
      timezone: 'UTC',
      open: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], from: '00:00', to: '23:59' }],
      closed: { minReplicas: 0 },
    };
    const spec = (schedule: Record<string, unknown>) => ({
      shards: 1,
      instruments: manyInstruments(2),
      processor: { autoscaling: { minReplicas: 2, maxReplicas: 3, lagPerReplica: 10 } },
      storage: { autoscaling: { minReplicas: 1, maxReplicas: 3, lagPerReplica: 10 } },
      schedule,
    });
    await cluster.applyFeed(feedManifest(watched, name, spec(open)));
    await waitFor(
      'the processor HPA at its open floor',
      async () => (await hpaOf('processor').catch(() => undefined))?.spec?.minReplicas === 2,
    );

    // A real processor: 30 s of a session (all inside one minute, so every bar stays open) produced,
    // processed, sent on and committed.
    const session = generateSession(7, 30);
    const processor = await startProcessor({
      brokers: brokers().split(','),
      feed: name,
      namespace: watched,
      shardIndex: 0,
      shard: { ...shardFile(name, watched), kafka: { partitionsPerShard: 3, replicationFactor: 1 } },
      log,
    });
    try {
      await processor.ready;
      const kafka = createKafka(brokers().split(','), 'day2-closing', log);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: rawTopic(watched, name, 0), messages: session.messages });
      await producer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitFor(
          'the processor to commit every partition it received records on, with nothing left to fetch',
          async () => {
            const ends = await admin.fetchTopicOffsets(rawTopic(watched, name, 0));
            const [committed] = await admin.fetchOffsets({
              groupId: consumerGroup('processor', watched, name, 0),
              topics: [rawTopic(watched, name, 0)],
            });
            const withRecords = ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => e.partition);
            const done = withRecords.every(
              (p) => Number(committed?.partitions.find((c) => c.partition === p)?.offset ?? -1) >= 0,
            );
            return done && processor.status().lag === 0;
          },
          30_000,
        );
      } finally {
        await admin.disconnect();
      }
      assert.ok(
        session.messages.length > 30,
        `${session.messages.length} records: enough to raise the floor to 3 if they counted`,
      );

      const closed = { ...open, holidays: [new Date().toISOString().slice(0, 10)] };
      await cluster.applyFeed(feedManifest(watched, name, spec(closed)));
      const started = Date.now();
      await waitFor(
        'the processor floor at the closed minimum (1)',
        async () => (await hpaOf('processor')).spec?.minReplicas === 1,
        4_000,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}: processor-0 minReplicas ${(await hpaOf('processor')).spec?.minReplicas}`);
      });
      log.info({ ms: Date.now() - started }, 'closed floor reached');
      // Lag is still measured and still raises floors: nobody consumed the enriched records.
      assert.equal((await hpaOf('storage')).spec?.minReplicas, 3, 'storage floor raised by its unread records');
      const shard0 = await waitFor('status to show the processor lag of shard 0', async () =>
        ((await getFeed(watched, name)).status?.shardStatuses as { index: number; processorLag?: number }[] | undefined)?.find(
          (s) => s.index === 0 && s.processorLag !== undefined,
        ),
      );
      assert.equal(shard0.processorLag, 0);
    } finally {
      await processor.stop();
    }
  });
});

describe('restart on demand', () => {
  async function markAvailableUntil(name: string, done: () => Promise<boolean>): Promise<void> {
    await waitFor(
      `${name} rolled and the restart to move on`,
      async () => {
        await cluster.markAvailable(watched, name);
        return done();
      },
      30_000,
      500,
    );
  }

  test('processor rolls Deployment by Deployment: the next only once the previous is available', async () => {
    await annotateFeed({ 'stockify.io/restart': 'processor@t1' });
    await waitFor(
      'processor-0 to roll',
      async () => (await templateAnnotation(`${FEED}-processor-0`, 'stockify.io/restarted-for')) === 'processor@t1',
    );
    await sleep(1_000);
    assert.equal(await templateAnnotation(`${FEED}-processor-1`, 'stockify.io/restarted-for'), undefined, 'one at a time');
    assert.equal((await getFeed()).status?.restart?.phase, 'Rolling');
    await markAvailableUntil(
      `${FEED}-processor-0`,
      async () => (await templateAnnotation(`${FEED}-processor-1`, 'stockify.io/restarted-for')) === 'processor@t1',
    );
    await markAvailableUntil(`${FEED}-processor-1`, async () => (await getFeed()).status?.restart?.phase === 'Complete');
    assert.deepEqual((await getFeed()).status?.restart?.done, [`${FEED}-processor-0`, `${FEED}-processor-1`]);
    assert.equal(await templateAnnotation(`${FEED}-storage-0`, 'stockify.io/restarted-for'), undefined, 'storage untouched');
  });

  test('the next waits while the shard lags more than stockify.io/restart-max-lag', async () => {
    await annotateFeed({ 'stockify.io/restart': 'shard-0@t2', 'stockify.io/restart-max-lag': '10' });
    await waitFor(
      'ingestion-0 to roll',
      async () => (await templateAnnotation(`${FEED}-ingestion-0`, 'stockify.io/restarted-for')) === 'shard-0@t2',
    );
    await markAvailableUntil(`${FEED}-ingestion-0`, async () =>
      /waiting for shard 0 lag 25 to reach at most 10/.test((await getFeed()).status?.restart?.message ?? ''),
    );
    assert.equal(await templateAnnotation(`${FEED}-processor-0`, 'stockify.io/restarted-for'), 'processor@t1', 'held by the lag');
    await annotateFeed({ 'stockify.io/restart-max-lag': '100' });
    await waitFor(
      'processor-0 to roll once the gate opens',
      async () => (await templateAnnotation(`${FEED}-processor-0`, 'stockify.io/restarted-for')) === 'shard-0@t2',
    );
  });
});

describe('pause', () => {
  test('stockify.io/paused-reconcile: "true" stops reconciling and says so; removing it resumes', async () => {
    await annotateFeed({ 'stockify.io/paused-reconcile': 'true', 'stockify.io/restart': null });
    await waitFor('Progressing Paused', async () => {
      const c = condition(await getFeed(), 'Progressing');
      return c?.reason === 'Paused' && /annotation stockify.io\/paused-reconcile/.test(c.message);
    });
    await cluster.scaleFeed(watched, FEED, 3);
    await sleep(1_500);
    const selector = `app.kubernetes.io/instance=${FEED},stockify.io/shard=2`;
    assert.equal((await cluster.list(watched, 'apps/v1', 'Deployment', selector)).length, 0, 'nothing applied while paused');
    await annotateFeed({ 'stockify.io/paused-reconcile': null });
    await waitFor(
      'shard 2 once resumed',
      async () => (await cluster.list(watched, 'apps/v1', 'Deployment', selector)).length === 3,
    );
  });
});
