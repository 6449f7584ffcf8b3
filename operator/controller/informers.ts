// Informers (list + watch + cache) on MarketFeeds and on the objects the operator owns. client-node's
// ListWatch resumes a dropped watch from the last resourceVersion and relists on 410 Gone; on any
// other error it stops, so this restarts it with back-off.
import {
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
} from '@kubernetes/client-node';
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
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', path: '/apis/rbac.authorization.k8s.io/v1/roles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', path: '/apis/rbac.authorization.k8s.io/v1/rolebindings' },
];

export const FEED_KIND: OwnedKind = {
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'MarketFeed',
  path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
};

export function namespacedPath(path: string, namespace: string | undefined): string {
  if (!namespace) return path;
  const i = path.lastIndexOf('/');
  return `${path.slice(0, i)}/namespaces/${namespace}${path.slice(i)}`;
}

export type Handler<T> = (obj: T) => void;

interface WatchOptions {
  /** Namespaces to watch, one informer each; every namespace (one informer) when empty or unset. */
  namespaces?: readonly string[];
  labelSelector?: string;
  clock: Clock;
  onProblem: (kind: string, err: unknown) => void;
}

/**
 * Drops metadata.managedFields from a cached object: server-side apply's bookkeeping, often as large
 * as the rest of the object, and never read here (the operator compares what it set, subset.ts).
 */
export function forgetManagedFields(obj: KubernetesObject): void {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
}

/** One informer (one namespace, or all) that keeps itself running. */
class NamespaceInformer<T extends KubernetesObject> {
  readonly informer: Informer<T> & ObjectCache<T>;
  synced = false;
  private stopped = false;
  /** Restarts of a failing watch: 0.5 s doubling to 30 s, reset once it connects. */
  private readonly restarts = new Backoff({ initialMs: 500, maxMs: 30_000, jitter: 'none' });
  private retry: Timer | undefined;
  private readonly kind: OwnedKind;
  private readonly opts: WatchOptions;

  constructor(kube: Kube, kind: OwnedKind, namespace: string | undefined, opts: WatchOptions) {
    this.kind = kind;
    this.opts = opts;
    // Plain JSON, not client-node's models: a list of a thousand objects is parsed, not re-built.
    const list = () =>
      kube.raw.get<KubernetesListObject<T>>(namespacedPath(kind.path, namespace), { labelSelector: opts.labelSelector });
    this.informer = makeInformer<T>(kube.config, namespacedPath(kind.path, namespace), list, opts.labelSelector);
    // Registered first, so it runs before any other handler, on the very object the cache keeps.
    this.informer.on('add', forgetManagedFields);
    this.informer.on('update', forgetManagedFields);
    this.informer.on('error', (err) => {
      if (this.stopped) return; // the abort of our own stop()
      this.synced = false;
      this.opts.onProblem(kind.kind, err);
      this.scheduleRestart();
    });
    this.informer.on('connect', () => this.restarts.reset());
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
      this.opts.onProblem(this.kind.kind, err);
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
    this.retry = this.opts.clock.setTimer(() => {
      this.retry = undefined;
      if (!this.stopped) void this.start();
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry?.cancel();
    this.retry = undefined;
    this.synced = false;
    await this.informer.stop();
  }
}

/**
 * The informers of one kind: one for every namespace, or one per watched namespace
 * (WATCH_NAMESPACE=a,b), where the operator may hold Roles only, not a ClusterRole.
 */
export class Watcher<T extends KubernetesObject = KubernetesObject> {
  readonly kind: OwnedKind;
  private readonly parts: Map<string, NamespaceInformer<T>>;

  constructor(kube: Kube, kind: OwnedKind, opts: WatchOptions) {
    this.kind = kind;
    const namespaces = opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)] : [undefined];
    this.parts = new Map(namespaces.map((ns) => [ns ?? '', new NamespaceInformer<T>(kube, kind, ns, opts)]));
  }

  /** The first informer (the only one unless several namespaces are watched). */
  get informer(): Informer<T> & ObjectCache<T> {
    return [...this.parts.values()][0]?.informer as Informer<T> & ObjectCache<T>;
  }

  on(handler: Handler<T>): void {
    for (const p of this.parts.values()) {
      p.informer.on('add', handler);
      p.informer.on('update', handler);
      p.informer.on('delete', handler);
    }
  }

  /** Starts every informer; resolves after their first lists, true when all succeeded. */
  async start(): Promise<boolean> {
    const started = await Promise.all([...this.parts.values()].map((p) => p.start()));
    return started.every(Boolean);
  }

  get isSynced(): boolean {
    return [...this.parts.values()].every((p) => p.synced);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.parts.values()].map((p) => p.stop()));
  }

  private partFor(namespace: string): NamespaceInformer<T> | undefined {
    return this.parts.get(namespace) ?? this.parts.get('');
  }

  get(name: string, namespace: string): T | undefined {
    return this.partFor(namespace)?.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined) return this.partFor(namespace)?.informer.list(namespace) ?? [];
    return [...this.parts.values()].flatMap((p) => p.informer.list());
  }
}

export function ownedWatchers(kube: Kube, opts: WatchOptions): Map<string, Watcher> {
  return new Map(OWNED_KINDS.map((k) => [k.kind, new Watcher(kube, k, { ...opts, labelSelector: MANAGED_SELECTOR })]));
}

/** Secrets, watched only where the operator is granted them per namespace (WATCH_NAMESPACE + WATCH_SECRETS). */
export const SECRET_KIND: OwnedKind = { apiVersion: 'v1', kind: 'Secret', path: '/api/v1/secrets' };

/** The MarketFeed informer, one per owned kind, and Secrets in namespaced mode. */
export interface Informers {
  feeds: Watcher;
  owned: Map<string, Watcher>;
  /** Present when namespaces are watched: a Secret a feed names changing requeues the feed at once. */
  secrets?: Watcher;
}

export function createInformers(
  kube: Kube,
  opts: {
    namespaces?: readonly string[];
    /** Watch Secrets too; only with namespaces (never every Secret of the cluster). */
    watchSecrets?: boolean;
    clock: Clock;
    onProblem: (kind: string, err: unknown) => void;
  },
): Informers {
  const secrets = (opts.watchSecrets ?? false) && (opts.namespaces?.length ?? 0) > 0;
  return {
    feeds: new Watcher(kube, FEED_KIND, opts),
    owned: ownedWatchers(kube, opts),
    ...(secrets ? { secrets: new Watcher(kube, SECRET_KIND, opts) } : {}),
  };
}

const everyWatcher = (i: Informers): Watcher[] => [i.feeds, ...i.owned.values(), ...(i.secrets ? [i.secrets] : [])];

/** Starts every informer; true when every first list succeeded (the others retry on their own). */
export async function startInformers(i: Informers): Promise<boolean> {
  const started = await Promise.all(everyWatcher(i).map((w) => w.start()));
  return started.every(Boolean);
}

export const informersSynced = (i: Informers): boolean => everyWatcher(i).every((w) => w.isSynced);

export async function stopInformers(i: Informers): Promise<void> {
  await Promise.all(everyWatcher(i).map((w) => w.stop()));
}
