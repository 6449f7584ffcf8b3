// The operator process, in-process startable (tests, bench) and from `stockify operator`: informers
// feed a de-duplicating work queue, workers run the reconciler with bounded concurrency, a periodic
// resync re-checks everything, and only the Lease holder's workers run.
import { hostname } from 'node:os';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { Counter, Gauge, Histogram } from 'prom-client';
import { createLogger, type Logger } from '../../services/core/log.ts';
import { createRegistry, type HttpEndpoints, serveMetrics } from '../../services/core/metrics.ts';
import { KIND } from '../crd/schema.ts';
import { DEFAULT_IMAGE } from '../desired/meta.ts';
import { type Clock, systemClock, type Timer } from './clock.ts';
import { EventRecorder } from './events.ts';
import { FEED_KIND, ownedWatchers, Watcher } from './informers.ts';
import { createKube, describeError, type Kube, RequestCounter } from './kube.ts';
import { LeaderElector } from './leader.ts';
import { runWorkers, WorkQueue } from './queue.ts';
import { Reconciler } from './reconcile.ts';
import { TopicManager } from './topics.ts';

export interface OperatorOptions {
  kubeConfig?: KubeConfig;
  /** Watch one namespace only (WATCH_NAMESPACE); all when unset. */
  namespace?: string;
  leaderElect?: boolean;
  leaseNamespace?: string;
  leaseName?: string;
  identity?: string;
  concurrency?: number;
  resyncMs?: number;
  /** Serve /metrics, /healthz, /readyz on this port (0 = any free port); none when unset. */
  metricsPort?: number;
  clock?: Clock;
  log?: Logger;
  image?: string;
  drainCheckMs?: number;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
}

export interface RunningOperator {
  kube: Kube;
  requests: RequestCounter;
  identity: string;
  isLeader(): boolean;
  /** Informers listed and watching. */
  isSynced(): boolean;
  queueDepth(): number;
  metrics?: HttpEndpoints;
  feeds: Watcher;
  owned: Map<string, Watcher>;
  reconcileCount(): number;
  stop(): Promise<void>;
}

const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export async function startOperator(opts: OperatorOptions = {}): Promise<RunningOperator> {
  const clock = opts.clock ?? systemClock;
  const identity = opts.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const log = opts.log ?? createLogger({ component: 'operator', base: { identity } });
  const kc = opts.kubeConfig ?? defaultKubeConfig();
  const kube = createKube(kc, new RequestCounter());
  const onProblem = (kind: string, err: unknown): void =>
    log.warn({ kind, err: describeError(err) }, 'watch failed; restarting it');
  const feeds = new Watcher(kube, FEED_KIND, { ...(opts.namespace ? { namespace: opts.namespace } : {}), clock, onProblem });
  const owned = ownedWatchers(kube, { ...(opts.namespace ? { namespace: opts.namespace } : {}), clock, onProblem });
  const topics = new TopicManager(log);
  const reconciler = new Reconciler({
    kube,
    feeds,
    owned,
    topics,
    events: new EventRecorder(kube, clock, log, identity),
    clock,
    log,
    image: opts.image ?? process.env.STOCKIFY_IMAGE ?? DEFAULT_IMAGE,
    ...(opts.drainCheckMs ? { drainCheckMs: opts.drainCheckMs } : {}),
  });

  // Metrics
  const registry = createRegistry({ component: 'operator' });
  const reconciles = new Counter({
    name: 'stockify_operator_reconciles_total',
    help: 'Reconciles by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'stockify_operator_reconcile_errors_total',
    help: 'Reconciles that failed',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'stockify_operator_reconcile_duration_seconds',
    help: 'Time per reconcile',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  let queue = new WorkQueue({ clock });
  new Gauge({
    name: 'stockify_operator_queue_depth',
    help: 'Keys waiting in the work queue',
    registers: [registry],
    collect() {
      this.set(queue.length);
    },
  });
  new Gauge({
    name: 'stockify_operator_leader',
    help: '1 when this instance holds the lease',
    registers: [registry],
    collect() {
      this.set(leading ? 1 : 0);
    },
  });
  new Counter({
    name: 'stockify_operator_api_requests_total',
    help: 'Kubernetes API requests by method',
    labelNames: ['method'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [m, n] of kube.requests.byMethod) this.inc({ method: m }, n);
    },
  });

  let leading = false;
  let total = 0;
  let workers: Promise<void> | undefined;
  let resync: Timer | undefined;
  const resyncMs = opts.resyncMs ?? 300_000;

  const enqueueAll = (): void => {
    for (const f of feeds.list()) queue.add(keyOf(f));
  };
  const scheduleResync = (): void => {
    resync = clock.setTimer(() => {
      if (leading) enqueueAll();
      scheduleResync();
    }, resyncMs);
  };

  feeds.on((f) => {
    if (leading) queue.add(keyOf(f));
  });
  for (const watcher of owned.values()) {
    watcher.on((o) => {
      if (!leading) return;
      const owner = (o.metadata?.ownerReferences ?? []).find((r) => r.controller && r.kind === KIND);
      if (owner) queue.add(`${o.metadata?.namespace ?? ''}/${owner.name}`);
    });
  }

  const startWorking = (): void => {
    leading = true;
    queue = new WorkQueue({ clock });
    const q = queue;
    workers = runWorkers(
      q,
      opts.concurrency ?? 4,
      async (key) => {
        const end = duration.startTimer();
        total++;
        try {
          const result = await reconciler.reconcile(key);
          reconciles.inc({ result: result.retry ? 'retry' : result.requeueAfterMs ? 'requeue' : 'done' });
          return result;
        } finally {
          end();
        }
      },
      (key, err, retryInMs) => {
        errors.inc();
        reconciles.inc({ result: 'error' });
        log.error({ key, err: describeError(err), retryInMs }, 'reconcile failed');
      },
    );
    enqueueAll();
    scheduleResync();
  };
  const stopWorking = (): void => {
    leading = false;
    resync?.cancel();
    queue.shutDown();
  };

  const started = await Promise.all([feeds.start(), ...[...owned.values()].map((w) => w.start())]);
  if (!started.every(Boolean)) log.warn('some informers failed their first list; they retry in the background');

  let elector: LeaderElector | undefined;
  if (opts.leaderElect ?? true) {
    elector = new LeaderElector({
      kube,
      namespace: opts.leaseNamespace ?? process.env.POD_NAMESPACE ?? 'default',
      ...(opts.leaseName ? { name: opts.leaseName } : {}),
      identity,
      clock,
      log,
      ...(opts.leaseDurationSeconds ? { leaseDurationSeconds: opts.leaseDurationSeconds } : {}),
      ...(opts.retryPeriodMs ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      onStartedLeading: startWorking,
      onStoppedLeading: stopWorking,
    });
    elector.start();
  } else {
    startWorking();
  }

  const isSynced = (): boolean => feeds.isSynced && [...owned.values()].every((w) => w.isSynced);
  const metrics =
    opts.metricsPort === undefined
      ? undefined
      : await serveMetrics(registry, opts.metricsPort, { live: () => true, ready: isSynced });

  return {
    kube,
    requests: kube.requests,
    identity,
    isLeader: () => leading,
    isSynced,
    queueDepth: () => queue.length,
    ...(metrics ? { metrics } : {}),
    feeds,
    owned,
    reconcileCount: () => total,
    async stop() {
      await elector?.stop();
      stopWorking();
      await workers;
      await Promise.all([feeds.stop(), ...[...owned.values()].map((w) => w.stop())]);
      await topics.close();
      await metrics?.close();
    },
  };
}

/** KUBECONFIG (or ~/.kube/config), else the in-cluster service account. */
export function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
