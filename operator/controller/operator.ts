// The operator process, in-process startable (tests, bench) and from `stockify operator`: informers
// feed a de-duplicating work queue, workers run the reconciler with bounded concurrency, a periodic
// resync re-checks everything, and only the Lease holder's workers run. This file only wires.
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, type Logger } from '../../services/core/log.ts';
import { type HttpEndpoints, serveMetrics } from '../../services/core/metrics.ts';
import { DEFAULT_IMAGE } from '../desired/meta.ts';
import { type Clock, systemClock } from './clock.ts';
import { EventRecorder } from './events.ts';
import { createInformers, type Informers, informersSynced, startInformers, stopInformers, type Watcher } from './informers.ts';
import { createKube, describeError, type Kube, RequestCounter } from './kube.ts';
import { LeaderElector } from './leader.ts';
import { OperatorMetrics } from './metrics.ts';
import { Reconciler } from './reconcile.ts';
import { TopicManager } from './topics.ts';
import { WorkLoop } from './work-loop.ts';

export interface OperatorOptions {
  kubeConfig?: KubeConfig;
  /** Watch one namespace only; all when unset. */
  namespace?: string;
  /** Watch these namespaces only (informers per namespace); all when unset or empty. */
  namespaces?: readonly string[];
  /** With namespaces: watch their Secrets too (a changed Secret a feed names reconciles it at once). */
  watchSecrets?: boolean;
  leaderElect?: boolean;
  /** Namespace of the Lease (default `default`). */
  leaseNamespace?: string;
  leaseName?: string;
  /** Lease holder identity (default host-pid). */
  identity?: string;
  concurrency?: number;
  resyncMs?: number;
  /** Serve /metrics, /healthz, /readyz on this port (0 = any free port); none when unset. */
  metricsPort?: number;
  clock?: Clock;
  log?: Logger;
  /** Component image when spec.image is unset (default stockify:dev). */
  image?: string;
  drainCheckMs?: number;
  /** How often a feed that scales on lag is measured again (default 15 s). */
  lagCheckMs?: number;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
  /** Told the wall time of every reconcile (benchmarks). */
  onReconciled?: (key: string, ms: number) => void;
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

/** Campaigns for the Lease, working only while holding it; without election, works at once. */
function lead(
  opts: OperatorOptions,
  kube: Kube,
  identity: string,
  loop: WorkLoop,
  clock: Clock,
  log: Logger,
): LeaderElector | undefined {
  if (!(opts.leaderElect ?? true)) {
    loop.start();
    return undefined;
  }
  const elector = new LeaderElector({
    kube,
    namespace: opts.leaseNamespace ?? 'default',
    ...(opts.leaseName ? { name: opts.leaseName } : {}),
    identity,
    clock,
    log,
    ...(opts.leaseDurationSeconds ? { leaseDurationSeconds: opts.leaseDurationSeconds } : {}),
    ...(opts.retryPeriodMs ? { retryPeriodMs: opts.retryPeriodMs } : {}),
    onStartedLeading: () => loop.start(),
    onStoppedLeading: () => loop.stop(),
  });
  elector.start();
  return elector;
}

function timed(reconciler: Reconciler, report: (key: string, ms: number) => void) {
  return async (key: string) => {
    const started = performance.now();
    try {
      return await reconciler.reconcile(key);
    } finally {
      report(key, performance.now() - started);
    }
  };
}

/** Stops in dependency order: the lease, the workers, their Events, the watches, Kafka, then HTTP. */
function shutdown(parts: {
  elector: LeaderElector | undefined;
  loop: WorkLoop;
  informers: Informers;
  topics: TopicManager;
  events: EventRecorder;
  http: HttpEndpoints | undefined;
}): () => Promise<void> {
  return async () => {
    await parts.elector?.stop();
    parts.loop.stop();
    await parts.loop.drained();
    await parts.events.flush();
    await stopInformers(parts.informers);
    await parts.topics.close();
    await parts.http?.close();
  };
}

export async function startOperator(opts: OperatorOptions = {}): Promise<RunningOperator> {
  const clock = opts.clock ?? systemClock;
  const identity = opts.identity ?? `${hostname()}-${process.pid}`;
  const log = opts.log ?? createLogger({ component: 'operator', base: { identity } });
  const kube = createKube(opts.kubeConfig ?? defaultKubeConfig(), new RequestCounter());
  const onProblem = (kind: string, err: unknown): void =>
    log.warn({ kind, err: describeError(err) }, 'watch failed; restarting it');
  const namespaces = [...(opts.namespaces ?? []), ...(opts.namespace ? [opts.namespace] : [])];
  const informers = createInformers(kube, { namespaces, watchSecrets: opts.watchSecrets ?? false, clock, onProblem });
  const topics = new TopicManager(log);
  const events = new EventRecorder(kube, clock, log, identity);
  const reconciler = new Reconciler({
    kube,
    ...informers,
    topics,
    events,
    clock,
    log,
    image: opts.image ?? DEFAULT_IMAGE,
    ...(opts.drainCheckMs ? { drainCheckMs: opts.drainCheckMs } : {}),
    ...(opts.lagCheckMs ? { lagCheckMs: opts.lagCheckMs } : {}),
  });
  const sources = { queueDepth: () => loop.queueDepth, isLeader: () => loop.isLeading, requests: kube.requests };
  const metrics = new OperatorMetrics(sources);
  const loop = new WorkLoop({
    informers,
    reconcile: opts.onReconciled ? timed(reconciler, opts.onReconciled) : (key) => reconciler.reconcile(key),
    metrics,
    clock,
    log,
    concurrency: opts.concurrency ?? 4,
    resyncMs: opts.resyncMs ?? 300_000,
  });

  if (!(await startInformers(informers))) log.warn('some informers failed their first list; they retry in the background');
  const elector = lead(opts, kube, identity, loop, clock, log);
  const isSynced = (): boolean => informersSynced(informers);
  const http =
    opts.metricsPort === undefined
      ? undefined
      : await serveMetrics(metrics.registry, opts.metricsPort, { live: () => true, ready: isSynced });

  return {
    kube,
    requests: kube.requests,
    identity,
    isLeader: () => loop.isLeading,
    isSynced,
    queueDepth: () => loop.queueDepth,
    ...(http ? { metrics: http } : {}),
    ...informers,
    reconcileCount: () => loop.reconcileCount,
    stop: shutdown({ elector, loop, informers, topics, events, http }),
  };
}

/** KUBECONFIG (or ~/.kube/config), else the in-cluster service account. */
export function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
