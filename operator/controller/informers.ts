// Informers (list + watch + cache) on MarketFeeds and on the objects the operator owns. client-node's
// ListWatch resumes a dropped watch from the last resourceVersion and relists on 410 Gone; on any
// other error it stops, so this restarts it with back-off.
import { type Informer, type KubernetesObject, makeInformer, type ObjectCache } from '@kubernetes/client-node';
import { Backoff } from '../../services/core/backoff.ts';
import { GROUP, PLURAL, VERSION } from '../crd/schema.ts';
import { MANAGED_SELECTOR } from '../desired/meta.ts';
import type { Clock, Timer } from './clock.ts';
import type { Kube } from './kube.ts';

export interface OwnedKind {
  apiVersion: string;
  kind: string;
  /** Collection path without namespace, e.g. /apis/apps/v1/deployments. */
  path: string;
}

export const OWNED_KINDS: readonly OwnedKind[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { apiVersion: 'v1', kind: 'ConfigMap', path: '/api/v1/configmaps' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', path: '/apis/autoscaling/v2/horizontalpodautoscalers' },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', path: '/apis/policy/v1/poddisruptionbudgets' },
  { apiVersion: 'v1', kind: 'ServiceAccount', path: '/api/v1/serviceaccounts' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', path: '/apis/networking.k8s.io/v1/networkpolicies' },
];

export const FEED_KIND: OwnedKind = {
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'MarketFeed',
  path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
};

function namespacedPath(path: string, namespace: string | undefined): string {
  if (!namespace) return path;
  const i = path.lastIndexOf('/');
  return `${path.slice(0, i)}/namespaces/${namespace}${path.slice(i)}`;
}

export type Handler<T> = (obj: T) => void;

/** One informer that keeps itself running. */
export class Watcher<T extends KubernetesObject = KubernetesObject> {
  readonly kind: OwnedKind;
  readonly informer: Informer<T> & ObjectCache<T>;
  private synced = false;
  private stopped = false;
  /** Restarts of a failing watch: 0.5 s doubling to 30 s, reset once it connects. */
  private readonly restarts = new Backoff({ initialMs: 500, maxMs: 30_000, jitter: 'none' });
  private retry: Timer | undefined;
  private readonly clock: Clock;
  private readonly onProblem: (kind: string, err: unknown) => void;

  constructor(
    kube: Kube,
    kind: OwnedKind,
    opts: { namespace?: string; labelSelector?: string; clock: Clock; onProblem: (kind: string, err: unknown) => void },
  ) {
    this.kind = kind;
    this.clock = opts.clock;
    this.onProblem = opts.onProblem;
    const list = () =>
      kube.objects.list<T>(
        kind.apiVersion,
        kind.kind,
        opts.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        opts.labelSelector,
      );
    this.informer = makeInformer<T>(kube.config, namespacedPath(kind.path, opts.namespace), list, opts.labelSelector);
    this.informer.on('error', (err) => {
      if (this.stopped) return; // the abort of our own stop()
      this.synced = false;
      this.onProblem(kind.kind, err);
      this.scheduleRestart();
    });
    this.informer.on('connect', () => this.restarts.reset());
  }

  on(handler: Handler<T>): void {
    this.informer.on('add', handler);
    this.informer.on('update', handler);
    this.informer.on('delete', handler);
  }

  /** Starts the informer; resolves after the first list, true when it succeeded. */
  async start(): Promise<boolean> {
    this.stopped = false;
    let failed = false;
    const onError = (): void => {
      failed = true;
    };
    this.informer.on('error', onError);
    try {
      await this.informer.start();
    } catch (err) {
      failed = true;
      this.onProblem(this.kind.kind, err);
      this.scheduleRestart();
    } finally {
      this.informer.off('error', onError);
    }
    this.synced = !failed;
    return this.synced;
  }

  private scheduleRestart(): void {
    if (this.stopped || this.retry) return;
    const delay = this.restarts.next();
    this.retry = this.clock.setTimer(() => {
      this.retry = undefined;
      if (!this.stopped) void this.start();
    }, delay);
  }

  get isSynced(): boolean {
    return this.synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry?.cancel();
    this.retry = undefined;
    this.synced = false;
    await this.informer.stop();
  }

  get(name: string, namespace: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }
}

export function ownedWatchers(
  kube: Kube,
  opts: { namespace?: string; clock: Clock; onProblem: (kind: string, err: unknown) => void },
): Map<string, Watcher> {
  return new Map(OWNED_KINDS.map((k) => [k.kind, new Watcher(kube, k, { ...opts, labelSelector: MANAGED_SELECTOR })]));
}

/** The MarketFeed informer and one per owned kind. */
export interface Informers {
  feeds: Watcher;
  owned: Map<string, Watcher>;
}

export function createInformers(
  kube: Kube,
  opts: { namespace?: string; clock: Clock; onProblem: (kind: string, err: unknown) => void },
): Informers {
  return { feeds: new Watcher(kube, FEED_KIND, opts), owned: ownedWatchers(kube, opts) };
}

const everyWatcher = (i: Informers): Watcher[] => [i.feeds, ...i.owned.values()];

/** Starts every informer; true when every first list succeeded (the others retry on their own). */
export async function startInformers(i: Informers): Promise<boolean> {
  const started = await Promise.all(everyWatcher(i).map((w) => w.start()));
  return started.every(Boolean);
}

export const informersSynced = (i: Informers): boolean => everyWatcher(i).every((w) => w.isSynced);

export async function stopInformers(i: Informers): Promise<void> {
  await Promise.all(everyWatcher(i).map((w) => w.stop()));
}
