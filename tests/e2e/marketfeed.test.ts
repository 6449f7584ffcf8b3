// End to end on the local single-node cluster (make e2e): the operator chart installed with Helm
// and checked with `helm test`, the two-shard simulator MarketFeed reconciled into real pods, rows
// in PostgreSQL, a client pod calling MarketData and the gateway through their Services by DNS name
// with its ServiceAccount token, resharding to three, pods killed mid-stream, the day-2 controls (a
// restart of one component on demand, reconciliation paused and resumed, HPA floors raised by consumer
// lag, a rotated Dhan token rolling its ingestion), the market closing, the processor HPA scaling out,
// and a clean uninstall. Each phase prints its duration; each fault prints the ticks published and
// stored around it. Nothing may be lost: every tick the ingestion pods published to Kafka must be in
// the ticks table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { rawTopic } from '../../services/core/topics.ts';
import { type DhanBroadcaster, type SentPacket, startDhanBroadcaster } from '../integration/ingestion/dhan-broadcaster.ts';
import { type ClientPod, runClientPod, TOKEN_FILE, watchClientPod } from './client-pod.ts';
import {
  DHAN_INSTRUMENTS,
  dhanFeedManifest,
  dhanInstrumentIds,
  hostPidOf,
  storedGaps,
  storedPackets,
  unaccounted,
} from './dhan-feed.ts';
import {
  env,
  helm,
  helmBin,
  kubectl,
  kubectlBin,
  kubectlJson,
  ok as mustRun,
  type PodList,
  phase,
  podReady,
  produceRecords,
  publishedTicks,
  report,
  root,
  run,
  type SentTick,
  sleep,
  waitFor,
} from './helpers.ts';
import { scaleInTarget } from './hpa-target.ts';

const runId = Date.now().toString(36);
const NS = `e2e-${runId}`;
const OPERATOR_NS = `stockify-e2e-${runId}`;
const RELEASE = 'stockify';
const FEED = 'nifty';
const chartDir = join(root, 'charts/stockify-operator');
const chartVersion = /^version:\s*(\S+)/m.exec(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'))?.[1] ?? '';

const hostKafka = env('KAFKA_BROKERS');
const hostDatabase = env('DATABASE_URL');
const podKafka = env('CLUSTER_KAFKA_BROKERS');
const podDatabase = env('CLUSTER_DATABASE_URL');
const podRedis = env('CLUSTER_REDIS_URL');
/** The port pods' API server connections reach after the kubernetes Service's DNAT (kube-router filters after it). */
const podApiServerPort = Number(env('CLUSTER_APISERVER_PORT'));
const podKafkaPort = Number(podKafka.split(':').at(-1));

const LOAD_TICKS_PER_SECOND = 2000;
/** The processors' CPU request: utilisation is usage over this, so a smaller one plays a slower machine. */
const PROCESSOR_CPU = process.env.E2E_PROCESSOR_CPU ?? '150m';
/** The HPA target while under load: far below what LOAD_TICKS_PER_SECOND drives one processor to. */
const LOAD_TARGET_CPU = 50;
/** A short scale-down window (the CRD's default is 300 s) so that the scale-in phase takes seconds. */
const SCALE_DOWN_WINDOW_S = 15;
/** Scale on lag phase: records put in front of shard 0's stopped processors, and the lag one replica takes. */
const BACKLOG_RECORDS = 10_000;
const LAG_PER_REPLICA = 1_000;

interface HpaItem {
  metadata: { name: string };
  spec: { minReplicas: number; maxReplicas: number };
  status: {
    desiredReplicas?: number;
    currentMetrics?: { resource?: { name: string; current?: { averageUtilization?: number } } }[];
  };
}

const cpuUtilization = (h: HpaItem): number | undefined =>
  h.status.currentMetrics?.find((m) => m.resource?.name === 'cpu')?.resource?.current?.averageUtilization;

interface FeedObject {
  metadata: { generation?: number; annotations?: Record<string, string> };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    restart?: { request: string; phase: string; message: string; done?: string[] };
    shardStatuses?: { index: number; processorLag?: number }[];
  };
}

const getFeed = (name = FEED): Promise<FeedObject> => kubectlJson<FeedObject>(['-n', NS, 'get', 'mf', name]);
const conditionOf = (f: FeedObject, type: string) => f.status?.conditions?.find((c) => c.type === type);

/** A schedule open all week except today, a holiday: the market is closed now. */
function closedToday(): Record<string, unknown> {
  return {
    timezone: 'UTC',
    open: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], from: '00:00', to: '23:59' }],
    holidays: [new Date().toISOString().slice(0, 10)],
    closed: { minReplicas: 0 },
  };
}

/**
 * Node script run in a pod: a TCP connect to each host:port argument (5 s each), printed as one JSON
 * line {target: "connected" | "timeout" | error code}.
 */
const CONNECT_SCRIPT = `
  const net = require('node:net');
  const probe = (target) => new Promise((resolve) => {
    const i = target.lastIndexOf(':');
    const socket = net.connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
    const done = (outcome) => { socket.destroy(); resolve(outcome); };
    socket.setTimeout(5000, () => done('timeout'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (err) => done(err.code || err.message));
  });
  (async () => {
    const out = {};
    for (const target of process.argv.slice(1)) out[target] = await probe(target);
    console.log(JSON.stringify(out));
  })();`;

const db = new pg.Pool({ connectionString: hostDatabase, max: 2 });
const faults: { what: string; atMs: number }[] = [];
const startedMs = Date.now();

function feedManifest(): Record<string, unknown> {
  const feed = parse(readFileSync(join(root, 'k8s/samples/simulator.yaml'), 'utf8')) as {
    metadata: Record<string, unknown>;
    spec: Record<string, Record<string, unknown>>;
  };
  feed.metadata = { name: FEED, namespace: NS };
  feed.spec.imagePullPolicy = 'Never' as unknown as Record<string, unknown>;
  feed.spec.kafka = { ...feed.spec.kafka, bootstrapServers: podKafka, deletionPolicy: 'Delete' };
  feed.spec.redis = { url: podRedis };
  // MarketData and the gateway take the cluster's own ServiceAccount tokens (audience stockify): the
  // client pods of the Services phase authenticate the way an in-cluster app would.
  feed.spec.auth = { serviceAccountIssuer: true };
  // The feed pods fetch the issuer's keys from the API server: here it listens on its own port.
  feed.spec.networkPolicy = { egress: { apiServer: { ports: [podApiServerPort] } } };
  // Two processors per shard while open, so that closing the market visibly lowers the floor. The
  // scale-in phase derives its target from the idle CPU it measures (see hpa-target.ts), so the
  // request may be lowered to play a slower machine (E2E_PROCESSOR_CPU=50m reads as 3× slower).
  feed.spec.processor = {
    resources: { requests: { cpu: PROCESSOR_CPU, memory: '128Mi' } },
    autoscaling: {
      minReplicas: 2,
      maxReplicas: 3,
      targetCPUUtilization: LOAD_TARGET_CPU,
      behavior: { scaleDown: { stabilizationWindowSeconds: SCALE_DOWN_WINDOW_S } },
      // CPU only: these phases test the schedule's floors and CPU scaling on one node whose CPU the
      // feed's requests already fill. With scale on lag the feed did not settle within 120 s of the
      // operator's upgrade (CI): a backlog raises the processor floors, and extra pods find no CPU on
      // this node. Scale on lag, including the floors dropping after the close, is tested against the
      // real API server and Kafka in tests/integration/operator/day2.test.ts.
      lagPerReplica: 0,
    },
  };
  // One storage pod per shard: no phase scales storage, and on this one CPU-full node a storage pod
  // the HPA adds under load stays Pending and holds the faults phase from "every pod Ready" (seen at
  // load 12: storage-2 at 107 % of its 70 % target, its third pod Pending for 300 s).
  feed.spec.storage = { ...feed.spec.storage, autoscaling: { minReplicas: 1, maxReplicas: 1, lagPerReplica: 0 } };
  return feed;
}

/** CPU use of the feed's pods of one component, from the metrics API (e.g. "nifty-processor-0-x=4m"). */
async function podCpuMillicores(component: string): Promise<string[]> {
  type PodMetricsList = { items: { metadata: { name: string }; containers: { usage: { cpu: string } }[] }[] };
  const path = `/apis/metrics.k8s.io/v1beta1/namespaces/${NS}/pods?labelSelector=app.kubernetes.io/name%3D${component}`;
  const list = JSON.parse(await kubectl(['get', '--raw', path])) as PodMetricsList;
  // Quantities come as nanocores ("7747424n") or millicores ("8m").
  const millicores = (q: string) =>
    q.endsWith('n') ? Number(q.slice(0, -1)) / 1e6 : q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1e3;
  return list.items.map((p) => {
    const m = p.containers.reduce((sum, c) => sum + millicores(c.usage.cpu), 0);
    return `${p.metadata.name}=${m.toFixed(1)}m`;
  });
}

/** The image the operator runs the feed's pods on (client pods use it too: it carries `stockify`). */
const feedImage = (): Promise<string> =>
  kubectl(['-n', NS, 'get', 'deployment', `${FEED}-storage-0`, '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);

async function feedPods(component?: string, feed = FEED): Promise<PodList['items']> {
  const selector = `app.kubernetes.io/instance=${feed}${component ? `,app.kubernetes.io/name=${component}` : ''}`;
  return (await kubectlJson<PodList>(['-n', NS, 'get', 'pods', '-l', selector])).items;
}

/** Names of the feed's ReplicaSets: a new one means a pod template changed. */
async function feedReplicaSets(feed = FEED): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
    '-n',
    NS,
    'get',
    'replicasets',
    '-l',
    `app.kubernetes.io/instance=${feed}`,
  ]);
  return list.items.map((r) => r.metadata.name).toSorted();
}

type HpaList = { items: HpaItem[] };
const feedHpas = async (component: 'processor' | 'storage'): Promise<HpaItem[]> =>
  (
    await kubectlJson<HpaList>([
      '-n',
      NS,
      'get',
      'hpa',
      '-l',
      `app.kubernetes.io/instance=${FEED},app.kubernetes.io/name=${component}`,
    ])
  ).items;
const hpaFloors = (hs: HpaItem[]): string => hs.map((h) => `${h.metadata.name}=${h.spec.minReplicas}`).join(' ');

interface DeploymentList {
  items: {
    metadata: { name: string };
    spec: { replicas?: number };
    status: { replicas?: number; readyReplicas?: number; updatedReplicas?: number };
  }[];
}

/** Every Deployment of the feed has all its replicas ready, and there are 3 per shard. */
async function feedSettled(shards: number): Promise<boolean> {
  // The shard components only: the sample's gateway is one Deployment per feed, not per shard.
  const selector = `app.kubernetes.io/instance=${FEED},app.kubernetes.io/name in (ingestion,processor,storage)`;
  const ds = (await kubectlJson<DeploymentList>(['-n', NS, 'get', 'deployments', '-l', selector])).items;
  if (ds.length !== shards * 3) return false;
  const settled = ds.every((d) => {
    const want = d.spec.replicas ?? 1;
    return (d.status.readyReplicas ?? 0) === want && (d.status.replicas ?? 0) === want;
  });
  if (!settled) return false;
  const pods = await feedPods();
  return pods.every(podReady);
}

async function ticksStoredSince(sinceMs: number, instruments?: string[]): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM ticks WHERE received_time >= to_timestamp($1 / 1000.0)${instruments ? ' AND instrument_id = ANY($2)' : ''}`,
    instruments ? [sinceMs, instruments] : [sinceMs],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** Which of the published ticks are in the ticks table (by instrument and sequence number). */
async function storedKeys(sent: Map<string, SentTick>): Promise<Set<string>> {
  const ids = [...new Set([...sent.values()].map((t) => t.instrumentId))];
  // A loop, not Math.min(...): a long run publishes more ticks than a call's arguments may hold.
  let minPublished = Number.POSITIVE_INFINITY;
  for (const t of sent.values()) minPublished = Math.min(minPublished, t.publishedMs);
  // A live option contract's tick becomes an option quote (IV and Greeks on the underlying's spot),
  // or stays a tick when it came before any spot: a published tick is stored when it is in either.
  const r = await db.query<{ instrument_id: string; seq: string }>(
    `SELECT instrument_id, seq FROM ticks WHERE instrument_id = ANY($1) AND received_time >= to_timestamp($2 / 1000.0) - interval '5 minutes'
     UNION ALL
     SELECT instrument_id, seq FROM option_quotes WHERE instrument_id = ANY($1) AND received_time >= to_timestamp($2 / 1000.0) - interval '5 minutes'`,
    [ids, minPublished],
  );
  return new Set(r.rows.map((row) => `${row.instrument_id}|${row.seq}`));
}

async function operatorPods(): Promise<PodList['items']> {
  return (await kubectlJson<PodList>(['-n', OPERATOR_NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=stockify-operator'])).items;
}

async function deleteOnePod(what: string, pods: PodList['items']): Promise<void> {
  const victim = pods.find(podReady);
  assert.ok(victim, `no ready ${what} pod to delete`);
  faults.push({ what: `${what} pod ${victim.metadata.name}`, atMs: Date.now() });
  // No grace period: the process is killed where it stands, mid-batch.
  await kubectl([
    '-n',
    what === 'operator' ? OPERATOR_NS : NS,
    'delete',
    'pod',
    victim.metadata.name,
    '--grace-period=0',
    '--force',
    '--wait=false',
  ]);
}

describe('a MarketFeed on a real single-node cluster', { concurrency: false }, () => {
  before(async () => {
    const nodes = await kubectlJson<{ items: unknown[] }>(['get', 'nodes']);
    assert.ok(nodes.items.length >= 1, 'no node has joined: run make cluster-up');
  });

  after(async () => {
    // Leave nothing behind even when a phase failed.
    await run(kubectlBin, ['-n', NS, 'delete', 'marketfeed', FEED, '--ignore-not-found', '--wait=true', '--timeout=120s']);
    await run(kubectlBin, ['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
    await run(helmBin, ['uninstall', RELEASE, '--namespace', OPERATOR_NS, '--ignore-not-found', '--wait']);
    await run(kubectlBin, ['delete', 'namespace', OPERATOR_NS, '--ignore-not-found', '--wait=false']);
    await db.end();
    report(`total: ${((Date.now() - startedMs) / 1000).toFixed(0)} s`);
  });

  test('helm installs the operator, which runs as a Ready pod from the imported image', async () => {
    await phase('helm install operator', async () => {
      // The feeds' namespace first: watchNamespaces gives the operator a Role there (its Secrets
      // listed and watched there only, so a rotated Secret is picked up at once) and no ClusterRole.
      await kubectl(['create', 'namespace', NS]);
      // Helm installs a chart's CRDs only when absent and never upgrades them: a cluster kept from an
      // earlier run gets the current one first, as an upgrading user applies it.
      await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(chartDir, 'crds/marketfeeds.stockify.io.yaml')]);
      await helm([
        'install',
        RELEASE,
        chartDir,
        '--namespace',
        OPERATOR_NS,
        '--create-namespace',
        '--set',
        `image.tag=${chartVersion}`,
        '--set',
        'image.pullPolicy=Never',
        '--set',
        'replicaCount=1',
        '--set',
        'podDisruptionBudget.enabled=false',
        '--set',
        `watchNamespaces={${NS}}`,
        // kube-router enforces the chart's NetworkPolicy: the ports this cluster's API server and
        // Kafka's pod listener are reached on.
        '--set',
        `networkPolicy.apiServer.ports={443,6443,${podApiServerPort}}`,
        '--set',
        `networkPolicy.kafka.ports={${podKafkaPort}}`,
        '--wait',
        '--timeout',
        '5m',
      ]);
      const pods = await waitFor('a Ready operator pod', async () => (await operatorPods()).find(podReady), 180_000);
      assert.ok(pods.status.podIP?.startsWith('10.244.0.'), `operator pod IP ${pods.status.podIP} is on the pod network`);
      // Least privilege: the operator's identity lists Secrets in the watched namespace and nowhere else.
      const sa = await kubectl([
        '-n',
        OPERATOR_NS,
        'get',
        'pod',
        pods.metadata.name,
        '-o',
        'jsonpath={.spec.serviceAccountName}',
      ]);
      const canList = async (where: string[]) =>
        (
          await run(kubectlBin, ['auth', 'can-i', 'list', 'secrets', ...where, `--as=system:serviceaccount:${OPERATOR_NS}:${sa}`])
        ).stdout.trim();
      const secrets = {
        watched: await canList(['-n', NS]),
        own: await canList(['-n', OPERATOR_NS]),
        cluster: await canList(['--all-namespaces']),
      };
      assert.deepEqual(secrets, { watched: 'yes', own: 'no', cluster: 'no' }, 'who may list Secrets');
      report(
        `operator ${sa} may list Secrets in ${NS}: ${secrets.watched}; in ${OPERATOR_NS}: ${secrets.own}; cluster-wide: ${secrets.cluster}`,
      );
    });
    await phase('helm test', async () => {
      // The chart's test pod asks the operator's metrics Service by DNS name for /readyz and /metrics.
      // No --logs: the pod is deleted once it succeeded (hook-succeeded) before helm could read them
      // (helm/helm#9098); a failed one stays, and its output goes into the failure.
      const r = await run(helmBin, ['test', RELEASE, '--namespace', OPERATOR_NS, '--timeout', '3m'], undefined, 240_000);
      if (r.code !== 0) {
        const pods = await run(kubectlBin, ['-n', OPERATOR_NS, 'logs', '-l', 'app.kubernetes.io/component=test', '--tail=20']);
        assert.fail(`helm test failed (${r.code}): ${r.stderr}${r.stdout}\ntest pod output:\n${pods.stdout}${pods.stderr}`);
      }
      assert.match(r.stdout, /Phase:\s+Succeeded/, r.stdout);
      report(
        `helm test: ${r.stdout
          .split('\n')
          .filter((l) => /TEST SUITE|Phase/.test(l))
          .map((l) => l.replace(/\s+/g, ' ').trim())
          .join('; ')}`,
      );
    });
  });

  test('the two-shard simulator MarketFeed becomes six Ready pods and rows arrive in PostgreSQL', async () => {
    await phase('feed ready (2 shards)', async () => {
      await kubectl(['-n', NS, 'create', 'secret', 'generic', 'stockify-postgres', `--from-literal=url=${podDatabase}`]);
      await kubectl(['apply', '-f', '-'], stringify(feedManifest()));
      await waitFor('every pod of the 2-shard feed Ready', () => feedSettled(2), 300_000);
    });
    await phase('rows in PostgreSQL', async () => {
      const since = Date.now();
      const n = await waitFor(
        'ticks stored by the cluster',
        async () => {
          const c = await ticksStoredSince(since);
          return c > 100 ? c : undefined;
        },
        120_000,
      );
      report(`ticks stored in the first seconds: ${n}`);
    });
  });

  test('a client pod reaches MarketData and the gateway through their Services by DNS, with its ServiceAccount token', async () => {
    const image = await feedImage();
    const client = (name: string, args: string[], token: boolean, command?: string[]): ClientPod => ({
      name: `e2e-${name}`,
      namespace: NS,
      image,
      args,
      token,
      ...(command ? { command } : {}),
    });
    const grpcService = `${FEED}-grpc.${NS}.svc.cluster.local:50051`;
    const instruments = ['IDX_I:13', 'IDX_I:25', 'NSE_EQ:2885', 'NSE_EQ:1333'];
    await phase('MarketData by DNS from a pod (stockify query)', async () => {
      const query = (args: string[]) => ['query', ...args, '--endpoint', grpcService, '--json'];
      const [latest, anonymous, streamed] = await Promise.all([
        runClientPod(client('query-latest', query(['latest', ...instruments, '--token-file', TOKEN_FILE]), true)),
        runClientPod(client('query-anonymous', query(['latest', ...instruments]), false)),
        watchClientPod(
          client('query-stream', query(['stream', ...instruments, '--token-file', TOKEN_FILE]), true),
          (logs) => logs.split('\n').filter((l) => l.startsWith('{')).length >= 20,
        ),
      ]);
      assert.equal(latest.exitCode, 0, `stockify query latest with the token: ${latest.logs}`);
      const snapshots = JSON.parse(latest.logs.trim().split('\n').at(-1) ?? '[]') as { instrumentId: string }[];
      assert.deepEqual(
        snapshots.map((x) => x.instrumentId).toSorted(),
        instruments.toSorted(),
        `latest snapshots of ${instruments.join(', ')}: ${latest.logs}`,
      );
      assert.notEqual(anonymous.exitCode, 0, `stockify query without a token must be refused: ${anonymous.logs}`);
      assert.match(anonymous.logs, /UNAUTHENTICATED/);
      const quotes = streamed
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { instrumentId: string });
      report(
        `via ${grpcService}: latest ${snapshots.length} snapshots; without a token: ${anonymous.logs.trim().split('\n').at(-1)}; streamed ${quotes.length} quotes from ${new Set(quotes.map((q) => q.instrumentId)).size} instruments`,
      );
    });
    await phase('gateway by DNS from a pod (ServiceAccount token)', async () => {
      const port = await kubectl(['-n', NS, 'get', 'service', `${FEED}-gateway`, '-o', 'jsonpath={.spec.ports[0].port}']);
      const url = `http://${FEED}-gateway.${NS}.svc.cluster.local:${port}/v1/latest?instruments=${instruments.join(',')}`;
      // Without a token, then with the pod's projected token: 401, then 200 with the snapshots, which
      // the gateway fetched from MarketData through <feed>-grpc with the caller's token.
      const script = `
        const [url, tokenFile] = process.argv.slice(1);
        const call = async (headers) => {
          const res = await fetch(url, { headers, signal: AbortSignal.timeout(15000) });
          return { status: res.status, body: await res.text() };
        };
        (async () => {
          const anonymous = await call({});
          const token = require('node:fs').readFileSync(tokenFile, 'utf8').trim();
          const authorised = await call({ authorization: 'Bearer ' + token });
          console.log(JSON.stringify({ anonymous, authorised }));
        })().catch((err) => { console.error(err.cause ? err.message + ': ' + err.cause.message : err.message); process.exit(1); });`;
      const r = await runClientPod(client('gateway', [url, TOKEN_FILE], true, ['/usr/local/bin/node', '-e', script]));
      assert.equal(r.exitCode, 0, `gateway client: ${r.logs}`);
      type Call = { status: number; body: string };
      const { anonymous, authorised } = JSON.parse(r.logs.trim().split('\n').at(-1) ?? '{}') as {
        anonymous: Call;
        authorised: Call;
      };
      assert.equal(anonymous.status, 401, `no token: ${anonymous.body}`);
      assert.equal(authorised.status, 200, `with the ServiceAccount token: ${authorised.body}`);
      const ids = (JSON.parse(authorised.body) as { snapshots: { instrumentId: string }[] }).snapshots.map((x) => x.instrumentId);
      assert.deepEqual(ids.toSorted(), instruments.toSorted());
      report(
        `via ${url.split('/v1')[0]}: no token ${anonymous.status}, ServiceAccount token ${authorised.status} with ${ids.length} snapshots`,
      );
    });
  });

  test('the feed NetworkPolicy is enforced (kube-router): MarketData only for labelled clients, egress only where allowed', async () => {
    await phase('NetworkPolicy enforced (kube-router)', async () => {
      const since = Date.now();
      const image = await feedImage();
      const gateway = env('CLUSTER_GATEWAY');
      // A port on this host that no egress rule names: pods that no policy selects reach it.
      const listener = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => listener.listen(0, gateway, resolve));
      const hostPort = `${gateway}:${(listener.address() as AddressInfo).port}`;
      const grpcService = `${FEED}-grpc.${NS}.svc.cluster.local:50051`;
      const redis = `${gateway}:${new URL(podRedis).port || 6379}`;
      try {
        const [unlabelled, labelled] = await Promise.all([
          runClientPod({
            name: 'e2e-np-unlabelled',
            namespace: NS,
            image,
            command: ['/usr/local/bin/node', '-e', CONNECT_SCRIPT],
            args: [grpcService, hostPort],
            token: false,
            client: false,
          }),
          runClientPod({
            name: 'e2e-np-client',
            namespace: NS,
            image,
            args: ['query', 'latest', 'IDX_I:13', '--endpoint', grpcService, '--token-file', TOKEN_FILE, '--json'],
            token: true,
          }),
        ]);
        assert.equal(unlabelled.exitCode, 0, `connect probe: ${unlabelled.logs}`);
        const fromUnlabelled = JSON.parse(unlabelled.logs.trim().split('\n').at(-1) ?? '{}') as Record<string, string>;
        // The name resolved (DNS is open to it), the connection itself is dropped by the feed's ingress rules.
        assert.ok(
          fromUnlabelled[grpcService] && !/^(connected|ENOTFOUND|EAI_AGAIN)$/.test(fromUnlabelled[grpcService]),
          `an unlabelled pod must not connect to ${grpcService}: ${unlabelled.logs}`,
        );
        assert.equal(fromUnlabelled[hostPort], 'connected', `the same pod reaches ${hostPort}: ${unlabelled.logs}`);
        assert.equal(labelled.exitCode, 0, `a labelled client's MarketData call: ${labelled.logs}`);
        const snapshots = JSON.parse(labelled.logs.trim().split('\n').at(-1) ?? '[]') as { instrumentId: string }[];
        assert.deepEqual(
          snapshots.map((x) => x.instrumentId),
          ['IDX_I:13'],
        );
        // Egress of a feed pod: Redis (allowed) connects, the host port no rule names does not.
        const storagePod = (await feedPods('storage')).find(podReady);
        assert.ok(storagePod, 'a Ready storage pod');
        const fromStorage = JSON.parse(
          (
            await kubectl([
              '-n',
              NS,
              'exec',
              storagePod.metadata.name,
              '--',
              '/usr/local/bin/node',
              '-e',
              CONNECT_SCRIPT,
              redis,
              hostPort,
            ])
          )
            .trim()
            .split('\n')
            .at(-1) ?? '{}',
        ) as Record<string, string>;
        assert.equal(fromStorage[redis], 'connected', `storage → Redis ${redis}`);
        assert.notEqual(fromStorage[hostPort], 'connected', `storage → ${hostPort} (no egress rule) must not connect`);
        const stored = await waitFor(
          'ticks stored while the policies are enforced',
          async () => {
            const c = await ticksStoredSince(since);
            return c > 100 ? c : undefined;
          },
          120_000,
        );
        report(
          `unlabelled pod → ${grpcService}: ${fromUnlabelled[grpcService]}, → ${hostPort}: ${fromUnlabelled[hostPort]}; ` +
            `labelled client: latest ${snapshots.length} snapshot; storage pod → Redis ${fromStorage[redis]}, → ${hostPort}: ${fromStorage[hostPort]}; ${stored} ticks stored meanwhile`,
        );
      } finally {
        listener.close();
      }
    });
  });

  test('kubectl scale mf --replicas=3 gives the third shard its instruments', async () => {
    await phase('scale to 3 shards', async () => {
      faults.push({ what: 'resharding 2→3', atMs: Date.now() });
      await kubectl(['-n', NS, 'scale', 'mf', FEED, '--replicas=3']);
      await waitFor('every pod of the 3-shard feed Ready', () => feedSettled(3), 300_000);
      const cm = await kubectlJson<{ data: Record<string, string> }>(['-n', NS, 'get', 'configmap', `${FEED}-shard-2`]);
      const shardFile = parse(Object.values(cm.data)[0] ?? '') as {
        instruments?: { id?: string; segment?: string; securityId?: string }[];
      };
      const ids = (shardFile.instruments ?? []).map((i) => i.id ?? `${i.segment}:${i.securityId}`);
      assert.ok(ids.length > 0, 'shard 2 was given instruments');
      const since = Date.now();
      const n = await waitFor(
        `ticks of shard 2 (${ids.join(', ')}) stored`,
        async () => {
          const c = await ticksStoredSince(since, ids);
          return c > 20 ? c : undefined;
        },
        120_000,
      );
      report(`shard 2 carries ${ids.length} instruments (${ids.join(', ')}); ${n} of its ticks stored`);
    });
  });

  test('killing a processor, a storage and the operator pod mid-stream loses nothing', async () => {
    await phase('faults', async () => {
      await deleteOnePod('processor', await feedPods('processor'));
      await sleep(15_000);
      await deleteOnePod('storage', await feedPods('storage'));
      await sleep(15_000);
      await deleteOnePod('operator', await operatorPods());
      await waitFor('a Ready operator pod again', async () => (await operatorPods()).find(podReady), 180_000);
      await waitFor('every pod of the feed Ready again', () => feedSettled(3), 300_000);
      await sleep(15_000);
    });
  });

  test('helm upgrade of the operator to a new image tag under load rolls no feed pod and restarts none', async () => {
    type ReplicaSets = { items: { metadata: { name: string } }[] };
    type Pods = {
      items: {
        metadata: { name: string; deletionTimestamp?: string };
        spec: { containers: { image: string }[] };
        status: { conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number }[] };
      }[];
    };
    const feedSelector = `app.kubernetes.io/instance=${FEED}`;
    const replicaSets = async () =>
      (await kubectlJson<ReplicaSets>(['-n', NS, 'get', 'replicasets', '-l', feedSelector])).items
        .map((r) => r.metadata.name)
        .toSorted();
    const restarts = async () =>
      new Map(
        (await kubectlJson<Pods>(['-n', NS, 'get', 'pods', '-l', feedSelector])).items.map((p) => [
          p.metadata.name,
          (p.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
        ]),
      );
    await phase('helm upgrade operator (new image tag, under load)', async () => {
      const repository = 'docker.io/stockify/stockify';
      const current = `${repository}:${chartVersion}`;
      const nextTag = `${chartVersion}-e2e-upgrade`;
      // A new tag of the same image archive: what a new release of the operator looks like to the node.
      await mustRun('ctr', [
        '--address',
        env('CONTAINERD_ADDRESS'),
        '-n',
        'k8s.io',
        'images',
        'tag',
        '--force',
        current,
        `${repository}:${nextTag}`,
      ]);
      const setsBefore = await replicaSets();
      const restartsBefore = await restarts();
      const readyBefore = (await feedPods()).filter(podReady).map((p) => p.metadata.name);
      faults.push({ what: 'helm upgrade of the operator', atMs: Date.now() });
      // The feed components keep their image (componentImage): only the operator changes, so no feed
      // pod template may change either.
      await helm([
        'upgrade',
        RELEASE,
        chartDir,
        '--namespace',
        OPERATOR_NS,
        '--reuse-values',
        '--set',
        `image.tag=${nextTag}`,
        '--set',
        `componentImage=${current}`,
        '--wait',
        '--timeout',
        '5m',
      ]);
      await waitFor(
        'one Ready operator pod, running the new tag',
        async () => {
          const pods = (
            await kubectlJson<Pods>(['-n', OPERATOR_NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=operator'])
          ).items.filter((p) => !p.metadata.deletionTimestamp);
          return pods.length === 1 && pods.every((p) => p.spec.containers[0]?.image.endsWith(`:${nextTag}`) && podReady(p));
        },
        180_000,
      );
      // The new operator reconciles every feed when it starts; give it the time to do so (and to roll
      // anything it would roll) before judging.
      await sleep(20_000);
      // Every pod of a fixed-size component (ingestion, storage, gateway) Ready before the upgrade is
      // still there and Ready: the upgrade disturbed none. Processors are the HPA's, between 2 and 3
      // under this load: it may remove one (scale-in) or add one that stays Pending on this CPU-full
      // node — the HPA's doing, not the upgrade's. For them: at least the floor of 2 Ready per shard,
      // and (below) no new ReplicaSet, so none was rolled.
      const hpaScaled = (name: string) => name.startsWith(`${FEED}-processor-`);
      const undisturbed = async (): Promise<true | undefined> => {
        const pods = (await feedPods()).filter(podReady).map((p) => p.metadata.name);
        const ready = new Set(pods);
        const fixedKept = readyBefore.filter((n) => !hpaScaled(n)).every((n) => ready.has(n));
        const floorsKept = [0, 1, 2].every((i) => pods.filter((n) => n.startsWith(`${FEED}-processor-${i}-`)).length >= 2);
        return fixedKept && floorsKept ? true : undefined;
      };
      try {
        await waitFor(
          'every fixed-size pod Ready before the upgrade still Ready, and 2 Ready processors a shard',
          undisturbed,
          120_000,
        );
      } catch (err) {
        const pods = (await feedPods()).map((p) => `${p.metadata.name}:${p.status.phase}${podReady(p) ? ':Ready' : ''}`);
        throw new Error(`${(err as Error).message}; before: ${readyBefore.join(' ')}; now: ${pods.join(' ')}`);
      }
      const setsAfter = await replicaSets();
      assert.deepEqual(
        setsAfter.filter((r) => !setsBefore.includes(r)),
        [],
        'a new ReplicaSet means a feed pod template changed with the operator upgrade',
      );
      const restartsAfter = await restarts();
      const restarted = [...restartsAfter].filter(([name, n]) => n > (restartsBefore.get(name) ?? n));
      assert.deepEqual(restarted, [], 'feed containers restarted during the operator upgrade');
      report(
        `operator upgraded to :${nextTag}; feed ReplicaSets unchanged (${setsAfter.length}), no container restarted (${restartsAfter.size} pods)`,
      );
    });
  });

  test('the restart annotation rolls shard 0’s processors one pod at a time and nothing else', async () => {
    type Listed = PodList['items'][number] & {
      kind: string;
      metadata: { annotations?: Record<string, string> };
      spec?: { replicas?: number };
    };
    const deployment = `${FEED}-processor-0`;
    const selector = `app.kubernetes.io/instance=${FEED},app.kubernetes.io/name=processor,stockify.io/shard=0`;
    const shard0 = async () => {
      const items = (await kubectlJson<{ items: Listed[] }>(['-n', NS, 'get', 'deployments,pods', '-l', selector])).items;
      return {
        want: items.find((i) => i.kind === 'Deployment')?.spec?.replicas ?? 0,
        pods: items.filter((i) => i.kind === 'Pod' && !i.metadata.deletionTimestamp),
      };
    };
    await phase('restart annotation (shard-0/processor)', async () => {
      const request = `shard-0/processor@${runId}`;
      const setsBefore = await feedReplicaSets();
      const before = await shard0();
      const old = new Set(before.pods.map((p) => p.metadata.name));
      const at = Date.now();
      faults.push({ what: `restart ${request}`, atMs: at });
      await kubectl(['-n', NS, 'annotate', 'mf', FEED, `stockify.io/restart=${request}`, '--overwrite']);
      // Sampled every second while it rolls: how many new pods were starting at once, how many old
      // ones went away between two looks, and the fewest Ready pods against the replicas wanted.
      let mostStarting = 0;
      let mostGoneAtOnce = 0;
      let fewestReady = Number.POSITIVE_INFINITY;
      let wantedThen = 0;
      let oldAlive = old.size;
      const complete = async (): Promise<FeedObject | undefined> => {
        const [now, feed] = await Promise.all([shard0(), getFeed()]);
        const starting = now.pods.filter((p) => !old.has(p.metadata.name) && !podReady(p)).length;
        mostStarting = Math.max(mostStarting, starting);
        const alive = now.pods.filter((p) => old.has(p.metadata.name)).length;
        mostGoneAtOnce = Math.max(mostGoneAtOnce, oldAlive - alive);
        oldAlive = alive;
        const ready = now.pods.filter(podReady).length;
        if (ready < fewestReady) [fewestReady, wantedThen] = [ready, now.want];
        const r = feed.status?.restart;
        return r?.request === request && r.phase === 'Complete' ? feed : undefined;
      };
      const feed = await waitFor(`status.restart of ${request} Complete`, complete, 240_000, 1_000).catch(async (err: Error) => {
        const [now, f] = await Promise.all([shard0(), getFeed()]);
        const pods = now.pods.map((p) => `${p.metadata.name}:${p.status.phase}${podReady(p) ? ':Ready' : ''}`);
        throw new Error(`${err.message}: status.restart ${JSON.stringify(f.status?.restart)}; pods ${pods.join(' ')}`);
      });
      const tookS = ((Date.now() - at) / 1000).toFixed(0);
      assert.deepEqual(feed.status?.restart?.done, [deployment], 'the request names one Deployment');
      assert.ok(mostStarting <= 1, `${mostStarting} new ${deployment} pods were starting at once`);
      assert.ok(mostGoneAtOnce <= 1, `${mostGoneAtOnce} old ${deployment} pods went away between two looks a second apart`);
      const after = await waitFor(
        `${deployment} settled on new pods only`,
        async () => {
          const now = await shard0();
          return now.pods.length === now.want && now.pods.every(podReady) ? now : undefined;
        },
        120_000,
      );
      const survivors = after.pods.filter((p) => old.has(p.metadata.name)).map((p) => p.metadata.name);
      assert.deepEqual(survivors, [], `pods of ${deployment} from before the restart`);
      for (const p of after.pods) {
        assert.equal(p.metadata.annotations?.['stockify.io/restarted-for'], request, `${p.metadata.name} restarted-for`);
      }
      const setsAfter = await feedReplicaSets();
      const added = setsAfter.filter((r) => !setsBefore.includes(r));
      assert.equal(added.length, 1, `one new ReplicaSet, not ${added.join(', ')}`);
      assert.ok(added[0]?.startsWith(`${deployment}-`), `the new ReplicaSet ${added[0]} is ${deployment}'s`);
      assert.deepEqual(
        setsBefore.filter((r) => !setsAfter.includes(r)),
        [],
        'every ReplicaSet from before is still there',
      );
      report(
        `restart ${request}: Complete in ${tookS} s (${feed.status?.restart?.message}); ${deployment} ${[...old].join(' ')} → ${after.pods.map((p) => p.metadata.name).join(' ')}; at most ${mostStarting} new pod starting and ${mostGoneAtOnce} old pod gone at once, fewest Ready ${fewestReady} of ${wantedThen}; ReplicaSets: ${added[0]} new, the other ${setsBefore.length} unchanged`,
      );
    });
  });

  test('stockify.io/paused-reconcile holds the feed as it is while its spec changes; removed, the change is applied', async () => {
    const PAUSE = 'stockify.io/paused-reconcile';
    type Deployments = { items: { metadata: { name: string }; spec: { replicas?: number } }[] };
    const ingestionReplicas = async () =>
      (
        await kubectlJson<Deployments>([
          '-n',
          NS,
          'get',
          'deployments',
          '-l',
          `app.kubernetes.io/instance=${FEED},app.kubernetes.io/name=ingestion`,
        ])
      ).items
        .map((d) => `${d.metadata.name}=${d.spec.replicas}`)
        .toSorted();
    const owned = async () => ({
      ingestion: await ingestionReplicas(),
      floors: hpaFloors([...(await feedHpas('processor')), ...(await feedHpas('storage'))]),
      replicaSets: await feedReplicaSets(),
      ingestionPods: (await feedPods('ingestion'))
        .filter((p) => !p.metadata.deletionTimestamp)
        .map((p) => p.metadata.name)
        .toSorted(),
    });
    await phase('pause annotation', async () => {
      await kubectl(['-n', NS, 'annotate', 'mf', FEED, `${PAUSE}=true`, '--overwrite']);
      await waitFor(
        'Progressing=False reason Paused naming the annotation',
        async () => {
          const c = conditionOf(await getFeed(), 'Progressing');
          return c?.status === 'False' && c.reason === 'Paused' && c.message?.includes(PAUSE);
        },
        60_000,
      );
      const held = await owned();
      // A change that would stop every ingestion pod and lower the processor floors: the market closes.
      await kubectl(['-n', NS, 'patch', 'mf', FEED, '--type=merge', '-p', JSON.stringify({ spec: { schedule: closedToday() } })]);
      const seen = await waitFor(
        'the operator to have seen the new generation, still paused',
        async () => {
          const f = await getFeed();
          const c = conditionOf(f, 'Progressing');
          return f.status?.observedGeneration === f.metadata.generation && c?.reason === 'Paused' ? f : undefined;
        },
        60_000,
      );
      // Time for a wrong apply to show (the operator applies within a second of a change).
      await sleep(10_000);
      const now = await owned();
      assert.deepEqual(now, held, 'owned objects while paused (ingestion replicas, HPA floors, ReplicaSets, ingestion pods)');
      report(
        `paused at generation ${seen.metadata.generation} (${conditionOf(seen, 'Progressing')?.message}): ${now.ingestion.join(' ')}; ${now.floors}; ${now.replicaSets.length} ReplicaSets and ${now.ingestionPods.length} ingestion pods unchanged`,
      );
      const resumedAt = Date.now();
      await kubectl(['-n', NS, 'annotate', 'mf', FEED, `${PAUSE}-`]);
      let last = '';
      const applied = await waitFor(
        'the closed market applied once resumed: ingestion at 0 replicas, MarketOpen=False, not Paused',
        async () => {
          const [r, f] = await Promise.all([ingestionReplicas(), getFeed()]);
          const progressing = conditionOf(f, 'Progressing');
          last = `${r.join(' ')}; MarketOpen=${conditionOf(f, 'MarketOpen')?.status}; Progressing ${progressing?.reason}`;
          const closed = conditionOf(f, 'MarketOpen')?.status === 'False';
          return r.every((x) => x.endsWith('=0')) && closed && progressing?.reason !== 'Paused' ? r : undefined;
        },
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${last}`);
      });
      report(`resumed: ${applied.join(' ')} ${((Date.now() - resumedAt) / 1000).toFixed(1)} s after the annotation went`);
    });
  });

  test('closing the market stops ingestion and lowers the HPA floors; every published tick is stored', async () => {
    await phase('market closed', async () => {
      // Already closed by the pause phase's change (applied once resumed): the same patch again is no
      // change, and the market-closed state is judged here.
      await kubectl(['-n', NS, 'patch', 'mf', FEED, '--type=merge', '-p', JSON.stringify({ spec: { schedule: closedToday() } })]);
      await waitFor(
        'ingestion at 0 replicas and no ingestion pods',
        async () => {
          const ds = await kubectlJson<DeploymentList>([
            '-n',
            NS,
            'get',
            'deployments',
            '-l',
            'app.kubernetes.io/name=ingestion',
          ]);
          return ds.items.every((d) => d.spec.replicas === 0) && (await feedPods('ingestion')).length === 0;
        },
        180_000,
      );
      // The floors drop once the processors' lag is drained: lag also raises them (scale on lag), and
      // the operator measures it every 15 s.
      type Hpas = { items: { metadata: { name: string }; spec: { minReplicas: number } }[] };
      const processorFloors = (h: Hpas) =>
        h.items.filter((x) => x.metadata.name.includes('-processor-')).map((x) => x.spec.minReplicas);
      const hpas = await waitFor(
        'processor HPA floors at 1',
        async () => {
          const h = await kubectlJson<Hpas>(['-n', NS, 'get', 'hpa']);
          const floors = processorFloors(h);
          return floors.length === 3 && floors.every((m) => m === 1) ? h : undefined;
        },
        120_000,
      ).catch(async (err: Error) => {
        const h = await kubectlJson<Hpas>(['-n', NS, 'get', 'hpa']);
        throw new Error(`${err.message}: ${h.items.map((x) => `${x.metadata.name}=${x.spec.minReplicas}`).join(' ')}`);
      });
      report(`HPA floors while closed: ${hpas.items.map((h) => `${h.metadata.name}=${h.spec.minReplicas}`).join(' ')}`);
    });
    await phase('audit: published vs stored', async () => {
      const topics = [0, 1, 2].map((i) => rawTopic(NS, FEED, i));
      // Let processors and storage drain what ingestion published before it stopped.
      let sent = await publishedTicks(hostKafka, topics);
      let stored = await storedKeys(sent);
      const deadline = Date.now() + 180_000;
      while ([...sent.keys()].some((k) => !stored.has(k)) && Date.now() < deadline) {
        await sleep(5_000);
        sent = await publishedTicks(hostKafka, topics);
        stored = await storedKeys(sent);
      }
      const missing = [...sent.values()].filter((t) => !stored.has(`${t.instrumentId}|${t.seq}`));
      report(`ticks published ${sent.size}, stored ${sent.size - missing.length}, missing ${missing.length}`);
      for (const f of faults) {
        const around = [...sent.values()].filter((t) => t.publishedMs >= f.atMs - 10_000 && t.publishedMs <= f.atMs + 30_000);
        const lost = around.filter((t) => !stored.has(`${t.instrumentId}|${t.seq}`)).length;
        report(`fault "${f.what}": ticks published in [-10 s, +30 s] ${around.length}, stored ${around.length - lost}`);
      }
      assert.ok(sent.size > 1000, `the simulator published ticks (${sent.size})`);
      assert.equal(missing.length, 0, `published ticks missing from PostgreSQL, e.g. ${JSON.stringify(missing.slice(0, 5))}`);
    });
  });

  test('with the market closed the idle processor HPAs scale in to 1; under load one scales out again', async () => {
    const processorHpas = async (): Promise<HpaItem[]> =>
      (await kubectlJson<{ items: HpaItem[] }>(['-n', NS, 'get', 'hpa', '-l', 'app.kubernetes.io/name=processor'])).items;
    const summary = (hs: HpaItem[]): string =>
      hs.map((h) => `${h.metadata.name}=${h.status.desiredReplicas}@${cpuUtilization(h) ?? '?'}%`).join(' ');
    const setTarget = (target: number) =>
      kubectl([
        '-n',
        NS,
        'patch',
        'mf',
        FEED,
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'replace', path: '/spec/processor/autoscaling/targetCPUUtilization', value: target }]),
      ]);
    await phase('HPA scale in (market closed)', async () => {
      // Idle processors scale in at the load target on a quick machine. What an idle processor costs
      // depends on the machine, so when they have not scaled in after 90 s the phase derives a target
      // from the utilisation it measured meanwhile (hpa-target.ts) rather than time out.
      const seen: number[][] = [];
      const allAtOne = (timeoutMs: number) =>
        waitFor(
          'every processor HPA at 1 replica',
          async () => {
            const hs = await processorHpas();
            const utilisation = hs.map(cpuUtilization).filter((u): u is number => u !== undefined);
            if (utilisation.length === 3) seen.push(utilisation);
            return hs.length === 3 && hs.every((h) => h.status.desiredReplicas === 1) ? hs : undefined;
          },
          timeoutMs,
          5_000,
        );
      let calm = await allAtOne(90_000).catch(() => undefined);
      if (!calm) {
        const recent = seen.slice(-4).flat();
        const target = scaleInTarget(recent, 2, LOAD_TARGET_CPU);
        report(
          `not at 1 replica after 90 s; idle utilisation ${Math.min(...recent)}–${Math.max(...recent)} % → target ${target} %`,
        );
        // The CRD caps the target at 1000 % (ten times the request).
        assert.ok(
          target <= 1000,
          `idle processors use up to ${Math.max(...recent)} % of their CPU request: no target ≤ 1000 % scales them in`,
        );
        await setTarget(target);
        calm = await allAtOne(240_000);
      }
      report(`processor HPAs with no load: ${summary(calm)}`);
      report(`idle processor pods: ${(await podCpuMillicores('processor')).join(' ')} (request ${PROCESSOR_CPU})`);
    });
    await phase('HPA scale out (market open, under load)', async () => {
      // Open again, at a simulator rate far above what one processor's CPU request (100m) carries.
      await kubectl([
        '-n',
        NS,
        'patch',
        'mf',
        FEED,
        '--type=json',
        '-p',
        JSON.stringify([
          { op: 'remove', path: '/spec/schedule' },
          { op: 'replace', path: '/spec/source/simulator/ticksPerSecond', value: LOAD_TICKS_PER_SECOND },
          { op: 'replace', path: '/spec/processor/autoscaling/minReplicas', value: 1 },
          { op: 'replace', path: '/spec/processor/autoscaling/targetCPUUtilization', value: LOAD_TARGET_CPU },
        ]),
      ]);
      const at = Date.now();
      const scaled = await waitFor(
        'a processor HPA above 1 replica',
        async () => {
          const hs = await processorHpas();
          return hs.some((h) => (h.status.desiredReplicas ?? 0) > 1) ? hs : undefined;
        },
        420_000,
        5_000,
      );
      report(`processor HPAs ${((Date.now() - at) / 1000).toFixed(0)} s into the load: ${summary(scaled)}`);
    });
    await phase('simulator feed idle again', async () => {
      // The load leaves lag behind, and lag raises the HPA floors: on this one-node cluster the next
      // feed's pods would wait for CPU. Close the market and hold processors and storage at one each.
      const today = new Date().toISOString().slice(0, 10);
      const one = { autoscaling: { minReplicas: 1, maxReplicas: 1 } };
      const schedule = {
        timezone: 'UTC',
        open: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], from: '00:00', to: '23:59' }],
        holidays: [today],
        closed: { minReplicas: 0 },
      };
      await kubectl([
        '-n',
        NS,
        'patch',
        'mf',
        FEED,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { schedule, processor: one, storage: one } }),
      ]);
      await waitFor(
        'no ingestion and no pending pods of the simulator feed',
        async () => {
          const pods = await feedPods();
          return pods.every((p) => p.status.phase !== 'Pending' && p.metadata.labels?.['app.kubernetes.io/name'] !== 'ingestion');
        },
        180_000,
      );
    });
  });

  test('a backlog on shard 0 raises its processor HPA floor, never above the partitions; drained, the floor falls back', async () => {
    const processor0 = `${FEED}-processor-0`;
    const patchProcessorScaling = (autoscaling: Record<string, number>) =>
      kubectl(['-n', NS, 'patch', 'mf', FEED, '--type=merge', '-p', JSON.stringify({ spec: { processor: { autoscaling } } })]);
    /** `want` gives the floor a processor HPA must have; undefined: any floor up to its max. */
    const processorFloors = (want: (name: string) => number | undefined, what: string, timeoutMs: number) => {
      let seen: HpaItem[] = [];
      return waitFor(
        what,
        async () => {
          seen = await feedHpas('processor');
          const ok = seen.every((h) => {
            const floor = want(h.metadata.name);
            return h.spec.maxReplicas === 3 && (floor === undefined ? h.spec.minReplicas <= 3 : h.spec.minReplicas === floor);
          });
          return seen.length === 3 && ok ? seen : undefined;
        },
        timeoutMs,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; floors seen: ${hpaFloors(seen)} (max ${seen.map((h) => h.spec.maxReplicas).join(' ')})`);
      });
    };
    /** Shard 0's processor pods; `terminating` too: a pod shutting down may still consume. */
    const shard0Pods = async (terminating = false) =>
      (await feedPods('processor')).filter(
        (p) => p.metadata.labels?.['stockify.io/shard'] === '0' && (terminating || !p.metadata.deletionTimestamp),
      );
    await phase('scale on lag (backlog on shard 0)', async () => {
      const t0 = Date.now();
      const since = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
      const steps: string[] = [];
      // The feed is idle (market closed, one processor per shard). Scale on lag, up to 3 replicas.
      await patchProcessorScaling({ maxReplicas: 3, lagPerReplica: LAG_PER_REPLICA });
      await processorFloors(() => 1, 'processor HPAs up to 3, floors at 1 (no lag)', 120_000);
      steps.push(`lag scaling on, floors 1 at ${since()}`);
      // A processor outage on shard 0, and records arriving meanwhile: the backlog stays until the
      // processors are back, so the operator's lag check (every 15 s) cannot miss it. (With the
      // Deployment at 0 the HPA leaves it alone: the floor is judged, not the pods.)
      await kubectl(['-n', NS, 'scale', 'deployment', processor0, '--replicas=0']);
      // Gone, not only terminating: a pod in its grace period still consumes, and would work off
      // part of the backlog before the operator measures it (seen in CI: floor raised, lag < 10,000).
      await waitFor(
        `no ${processor0} pods, terminating ones included`,
        async () => (await shard0Pods(true)).length === 0,
        120_000,
      );
      steps.push(`processors of shard 0 stopped at ${since()}`);
      const partitions = await produceRecords(hostKafka, rawTopic(NS, FEED, 0), BACKLOG_RECORDS, Buffer.from('not a RawRecord'));
      const producedAt = Date.now();
      // ceil(10,000 / 1,000) = 10 replicas asked for; the topic has 3 partitions, and so the cap.
      const expected = Math.min(partitions, Math.ceil(BACKLOG_RECORDS / LAG_PER_REPLICA));
      const raised = await processorFloors(
        // The other shards' floors follow their own lag (a processor that rebalanced after the load
        // phases may report some for a while): only shard 0's is judged, and none above the cap.
        (name) => (name === processor0 ? expected : undefined),
        `${processor0}'s HPA floor at ${expected} (the partitions)`,
        60_000,
      );
      const raisedS = ((Date.now() - producedAt) / 1000).toFixed(0);
      const h0 = raised.find((h) => h.metadata.name === processor0);
      assert.ok(
        h0 && h0.spec.minReplicas <= partitions && h0.spec.maxReplicas <= partitions,
        `${processor0} within ${partitions} partitions`,
      );
      let lagSeen: number | undefined;
      const lag = await waitFor(
        `status.shardStatuses to show shard 0 lag of at least ${BACKLOG_RECORDS}`,
        async () => {
          lagSeen = (await getFeed()).status?.shardStatuses?.find((x) => x.index === 0)?.processorLag;
          return lagSeen !== undefined && lagSeen >= BACKLOG_RECORDS ? lagSeen : undefined;
        },
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last shard 0 processorLag: ${lagSeen ?? 'none'}`);
      });
      // The processors come back and work the backlog off (refused records, to the DLQ); the HPA
      // holds them at the raised floor, on a node that may not have the CPU for all (Pending is fine).
      await kubectl(['-n', NS, 'scale', 'deployment', processor0, '--replicas=1']);
      const backAt = Date.now();
      let most = '';
      let mostPods = 0;
      await waitFor(
        `${processor0}'s floor back at 1 once the backlog is worked off`,
        async () => {
          const pods = await shard0Pods();
          if (pods.length > mostPods) {
            mostPods = pods.length;
            most = pods.map((p) => `${p.metadata.name}:${p.status.phase}`).join(' ');
          }
          return (await feedHpas('processor')).every((h) => h.spec.minReplicas === 1);
        },
        180_000,
      );
      report(
        `scale on lag: ${BACKLOG_RECORDS} records on ${partitions} partitions of shard 0 (processors stopped): ${processor0} floor ${h0?.spec.minReplicas} of max ${h0?.spec.maxReplicas} ${raisedS} s later, status lag ${lag}; processors back: floor 1 after ${((Date.now() - backAt) / 1000).toFixed(0)} s (most pods at once: ${most})`,
      );
      steps.push(`floor back at ${since()}`);
      // As before: one processor per shard, none Pending, for the Dhan feed's pods to find CPU.
      await patchProcessorScaling({ maxReplicas: 1, lagPerReplica: 0 });
      await waitFor(
        'one Running processor pod per shard',
        async () => {
          const pods = (await feedPods('processor')).filter((p) => !p.metadata.deletionTimestamp);
          return pods.length === 3 && pods.every((p) => p.status.phase === 'Running');
        },
        120_000,
      );
      report(`scale on lag steps: ${steps.join('; ')}; restored at ${since()}`);
    });
  });

  describe('a Dhan MarketFeed fed by a broadcasting Dhan double on the host', { concurrency: false }, () => {
    const DFEED = 'dhan';
    let dbl: DhanBroadcaster | undefined;
    const sinceMs = Date.now();
    const ingestionDeployment = `${DFEED}-ingestion-0`;
    const ingestionPods = async (): Promise<PodList['items']> => feedPods('ingestion', DFEED);

    before(async () => {
      dbl = await startDhanBroadcaster({
        host: env('CLUSTER_GATEWAY'),
        clientId: '1100000001',
        token: 'e2e-token',
        instruments: DHAN_INSTRUMENTS,
        packetsPerSecond: 100,
      });
    });
    after(async () => {
      await run(kubectlBin, ['-n', NS, 'delete', 'mf', DFEED, '--ignore-not-found', '--wait=true', '--timeout=120s']);
      await dbl?.close();
    });

    /** Waits until every packet of the window is stored or lies inside a gap; returns what is missing. */
    const settle = async (window: SentPacket[], gapsToo: boolean) =>
      waitFor(
        'every packet of the window stored or inside a recorded gap',
        async () => {
          const stored = await storedPackets(db, sinceMs);
          const gaps = gapsToo ? await storedGaps(db, NS, DFEED) : [];
          const u = unaccounted(window, stored.volumes, gaps);
          return u.outside.length === 0 ? { ...u, stored, gaps } : undefined;
        },
        180_000,
      ).catch(async (err: Error) => {
        const stored = await storedPackets(db, sinceMs);
        const u = unaccounted(window, stored.volumes, gapsToo ? await storedGaps(db, NS, DFEED) : []);
        throw new Error(
          `${err.message}: ${u.outside.length} of ${window.length} packets neither stored nor in a gap (first n ${u.outside[0]?.n})`,
        );
      });

    test('kubectl rollout restart of its ingestion under load: every packet the double sent is stored, once', async () => {
      const broadcaster = dbl as DhanBroadcaster;
      await phase('dhan feed ready', async () => {
        await kubectl([
          '-n',
          NS,
          'create',
          'secret',
          'generic',
          'dhan-e2e',
          '--from-literal=clientId=1100000001',
          '--from-literal=accessToken=e2e-token',
          `--from-literal=feedUrl=${broadcaster.feedUrl}`,
          `--from-literal=apiUrl=${broadcaster.apiUrl}`,
        ]);
        await kubectl(
          ['apply', '-f', '-'],
          stringify(
            dhanFeedManifest({
              name: DFEED,
              namespace: NS,
              secret: 'dhan-e2e',
              kafka: podKafka,
              redis: podRedis,
              dhanPorts: [Number(new URL(broadcaster.feedUrl).port)],
              apiServerPorts: [podApiServerPort],
            }),
          ),
        );
        await waitFor(
          'the Dhan feed subscribed and its ticks stored',
          async () => (await storedPackets(db, sinceMs)).rows > 50,
          300_000,
        );
      });
      await phase('rollout restart under load', async () => {
        const from = broadcaster.sent.length;
        await kubectl(['-n', NS, 'rollout', 'restart', `deployment/${ingestionDeployment}`]);
        await kubectl(['-n', NS, 'rollout', 'status', `deployment/${ingestionDeployment}`, '--timeout=180s']);
        await waitFor('one ingestion pod left', async () => (await ingestionPods()).length === 1, 120_000);
        await sleep(5_000);
        const window = broadcaster.sent.slice(from);
        const { missing, stored } = await settle(window, false);
        assert.equal(missing.length, 0, 'no packet lost across the rollout');
        assert.equal(stored.rows, stored.volumes.size, 'no packet stored twice');
        assert.ok(broadcaster.maxOpen() <= 2, `at most one spare connection in use (max open ${broadcaster.maxOpen()})`);
        assert.deepEqual(await storedGaps(db, NS, DFEED), [], 'a handover records no gap');
        const unheard = window.filter((p) => p.connections === 0).length;
        report(
          `rollout: ${window.length} packets sent during it (${unheard} while no connection was subscribed), all stored once; ${broadcaster.accepted()} connections accepted, at most ${broadcaster.maxOpen()} open`,
        );
      });
    });

    test('a rotated Dhan token rolls the ingestion at once, hands over without a gap, and touches nothing else', async () => {
      const broadcaster = dbl as DhanBroadcaster;
      const ROTATED = 'e2e-token-rotated';
      type Deployment = { spec: { template: { metadata: { annotations?: Record<string, string> } } } };
      const secretHash = async () =>
        (await kubectlJson<Deployment>(['-n', NS, 'get', 'deployment', ingestionDeployment])).spec.template.metadata
          .annotations?.['stockify.io/secret-hash'];
      await phase('Dhan token rotated (Secret watch)', async () => {
        // The account's new token; the old one stays valid meanwhile, as Dhan's do until they expire.
        broadcaster.acceptToken(ROTATED);
        const hashBefore = await secretHash();
        assert.ok(hashBefore, `${ingestionDeployment} carries the hash of the Secret it reads`);
        const setsBefore = await feedReplicaSets(DFEED);
        const podsBefore = (await ingestionPods()).map((p) => p.metadata.name);
        const from = broadcaster.sent.length;
        const rotatedAt = Date.now();
        await kubectl([
          '-n',
          NS,
          'patch',
          'secret',
          'dhan-e2e',
          '--type=merge',
          '-p',
          JSON.stringify({ stringData: { accessToken: ROTATED } }),
        ]);
        // The resync is 300 s: only the Secret watch rolls it within 30 s.
        await waitFor(
          `${ingestionDeployment}'s secret hash to change`,
          async () => (await secretHash()) !== hashBefore,
          30_000,
          500,
        );
        const rolledS = ((Date.now() - rotatedAt) / 1000).toFixed(1);
        await kubectl(['-n', NS, 'rollout', 'status', `deployment/${ingestionDeployment}`, '--timeout=180s']);
        await waitFor('one ingestion pod left', async () => (await ingestionPods()).length === 1, 120_000);
        await sleep(5_000);
        const window = broadcaster.sent.slice(from);
        const { missing, stored } = await settle(window, false);
        assert.equal(missing.length, 0, 'no packet lost across the rotation');
        assert.equal(stored.rows, stored.volumes.size, 'no packet stored twice');
        assert.deepEqual(await storedGaps(db, NS, DFEED), [], 'a handover records no gap');
        assert.ok(broadcaster.acceptedWith(ROTATED) >= 1, 'the new ingestion pod connected with the rotated token');
        assert.ok(broadcaster.maxOpen() <= 2, `at most one spare connection in use (max open ${broadcaster.maxOpen()})`);
        const podsAfter = (await ingestionPods()).map((p) => p.metadata.name);
        assert.ok(!podsAfter.some((p) => podsBefore.includes(p)), `new ingestion pod (${podsBefore} → ${podsAfter})`);
        const setsAfter = await feedReplicaSets(DFEED);
        const added = setsAfter.filter((r) => !setsBefore.includes(r));
        assert.ok(
          added.length === 1 && added[0]?.startsWith(`${ingestionDeployment}-`),
          `only ${ingestionDeployment} rolled (new ReplicaSets: ${added.join(', ')})`,
        );
        report(
          `rotation: template hash changed ${rolledS} s after the Secret; ${podsBefore} → ${podsAfter}; ${window.length} packets sent meanwhile, all stored once; ${broadcaster.acceptedWith(ROTATED)} connection(s) with the rotated token; ReplicaSets: ${added[0]} new, processor and storage unchanged`,
        );
      });
    });

    test('SIGKILL of the Dhan ingestion process: every missing packet lies inside a recorded gap', async () => {
      const broadcaster = dbl as DhanBroadcaster;
      await phase('SIGKILL of ingestion and the gap', async () => {
        const pod = (await ingestionPods()).find(podReady);
        assert.ok(pod, 'a ready Dhan ingestion pod');
        const pid = hostPidOf(pod.metadata.name, 'ingestion');
        assert.ok(pid, `the host pid of ${pod.metadata.name}'s ingestion process`);
        const from = broadcaster.sent.length;
        const killedAt = Date.now();
        faults.push({ what: `SIGKILL ingestion ${pod.metadata.name}`, atMs: killedAt });
        process.kill(pid, 'SIGKILL');
        const gap = await waitFor('a gap row for the Dhan feed', async () => (await storedGaps(db, NS, DFEED))[0], 180_000);
        await sleep(3_000);
        const window = broadcaster.sent.slice(from);
        const { missing, gaps } = await settle(window, true);
        assert.equal(gaps.length, 1, 'one gap for one crash');
        assert.deepEqual(gap.instrumentIds.toSorted(), dhanInstrumentIds.toSorted());
        const events = await waitFor(
          'a Warning Event IngestionGap on the Dhan MarketFeed',
          async () => {
            const list = await kubectlJson<{ items: { involvedObject: { kind: string; name: string }; message: string }[] }>([
              '-n',
              NS,
              'get',
              'events',
              '--field-selector',
              'reason=IngestionGap,type=Warning',
            ]);
            const mine = list.items.filter((e) => e.involvedObject.kind === 'MarketFeed' && e.involvedObject.name === DFEED);
            return mine.length > 0 ? mine : undefined;
          },
          60_000,
        );
        report(`gap Event: ${events[0]?.message}`);
        const unheard = window.filter((p) => p.connections === 0).length;
        report(
          `SIGKILL: ${missing.length} of ${window.length} packets not stored (${unheard} sent while nobody listened), all inside the gap of shard ${gap.shard} [${new Date(gap.fromMs).toISOString()}, ${new Date(gap.toMs).toISOString()}] (${((gap.toMs - gap.fromMs) / 1000).toFixed(0)} s), recorded ${((Date.now() - killedAt) / 1000).toFixed(0)} s after the kill`,
        );
      });
    });
  });

  test('deleting the MarketFeed and uninstalling the chart leaves nothing running', async () => {
    await phase('uninstall', async () => {
      await kubectl(['-n', NS, 'delete', 'mf', FEED, '--wait=true', '--timeout=180s']);
      await waitFor('no feed pods', async () => (await feedPods()).length === 0, 180_000);
      await helm(['uninstall', RELEASE, '--namespace', OPERATOR_NS, '--wait', '--timeout', '3m']);
      await waitFor('no operator pods', async () => (await operatorPods()).length === 0, 120_000);
      await kubectl(['delete', 'namespace', NS, OPERATOR_NS, '--wait=true', '--timeout=180s']);
    });
  });
});
