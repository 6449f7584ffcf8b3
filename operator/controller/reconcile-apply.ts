// Applying the desired objects: server-side apply (field manager stockify-operator) of only those
// whose content changed, so a steady-state reconcile makes no write at all.
import { type KubernetesObject, PatchStrategy } from '@kubernetes/client-node';
import { COMPONENTS } from '../../services/core/names.ts';
import type { MarketFeed } from '../crd/types.ts';
import { ANNOTATION_APPLIED_HASH, FIELD_MANAGER, hasHpa, LABEL_NAME, LABEL_SHARD } from '../desired/index.ts';
import type { ReconcilerDeps } from './deps.ts';
import { namespacedPath, OWNED_KINDS } from './informers.ts';
import { describeError, toModel } from './kube.ts';
import { type Live, liveOf, ownedBy } from './owned.ts';
import type { Problem } from './problems.ts';
import { isSubset } from './subset.ts';

/** Object applies in flight at once within one reconcile. */
const APPLY_CONCURRENCY = 16;

type Outcome = 'created' | 'updated' | 'unchanged';
/** Any object the builders produce: only kind, metadata and spec are read here. */
type Desired = KubernetesObject & { spec?: object };

/** Runs fn over items with at most `limit` in flight. */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The API path of a namespaced object of an owned kind (what the raw apply needs), if it is one. */
function objectPath(o: KubernetesObject): string | undefined {
  const kind = OWNED_KINDS.find((k) => k.kind === o.kind && k.apiVersion === o.apiVersion);
  const { name, namespace } = o.metadata ?? {};
  if (!kind || !name || !namespace) return undefined;
  return `${namespacedPath(kind.path, namespace)}/${encodeURIComponent(name)}`;
}

const idOf = (o: KubernetesObject): string => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;

/**
 * Fixed-size consumers: replicas are set on create only; afterwards `kubectl scale` owns them.
 * Ingestion follows the schedule and autoscaled components have no replicas to keep.
 */
function keepScaledReplicas(feed: MarketFeed, desired: Desired, live: Live | undefined): Desired {
  if (!live || desired.kind !== 'Deployment' || live.spec?.replicas === undefined) return desired;
  const component = COMPONENTS.find((c) => c === desired.metadata?.labels?.[LABEL_NAME]);
  if (component === undefined || component === 'ingestion' || hasHpa(feed, component)) return desired;
  return { ...desired, spec: { ...desired.spec, replicas: live.spec.replicas } };
}

export class Applier {
  private readonly d: Pick<ReconcilerDeps, 'kube' | 'owned' | 'events' | 'log'>;
  /** Objects the API server rewrites (so the subset check never matches): trust the hash alone. */
  private readonly normalized = new Map<string, string>();

  constructor(deps: Pick<ReconcilerDeps, 'kube' | 'owned' | 'events' | 'log'>) {
    this.d = deps;
  }

  /** Applies what changed; returns how many objects were written and what failed. */
  async applyAll(feed: MarketFeed, objects: readonly Desired[]): Promise<{ applied: number; problems: Problem[] }> {
    const problems: Problem[] = [];
    const createdShards: number[] = [];
    let applied = 0;
    await mapLimit(objects, APPLY_CONCURRENCY, async (object) => {
      try {
        const outcome = await this.applyIfChanged(feed, object);
        if (outcome !== 'unchanged') applied++;
        if (outcome === 'created' && object.kind === 'ConfigMap')
          createdShards.push(Number(object.metadata?.labels?.[LABEL_SHARD]));
      } catch (err) {
        problems.push({ reason: 'ApplyFailed', message: `${object.kind} ${object.metadata?.name}: ${describeError(err)}` });
      }
    });
    if (createdShards.length > 0) {
      const shards = createdShards.sort((a, b) => a - b).join(', ');
      await this.d.events.record(feed, 'Normal', 'ShardCreated', `created shard(s) ${shards} of ${feed.spec.shards}`);
    }
    return { applied, problems };
  }

  private async applyIfChanged(feed: MarketFeed, desired: Desired): Promise<Outcome> {
    const live = liveOf(this.d.owned, desired.kind ?? '', desired.metadata?.name ?? '', desired.metadata?.namespace ?? '');
    const body = keepScaledReplicas(feed, desired, live);
    const hash = desired.metadata?.annotations?.[ANNOTATION_APPLIED_HASH];
    const id = idOf(desired);
    if (live && live.metadata?.annotations?.[ANNOTATION_APPLIED_HASH] === hash && ownedBy(live, feed.metadata.uid)) {
      // Listed items carry no apiVersion/kind (watched ones do): compare the rest. Listed items are
      // also client-node models, whose names differ from the wire's for a few fields (a
      // NetworkPolicy rule's `from` is `_from`): compare with the model form too.
      const { apiVersion: _v, kind: _k, ...content } = body;
      const asModel = (): unknown => {
        const { apiVersion: _mv, kind: _mk, ...rest } = toModel(body);
        return rest;
      };
      if (this.normalized.get(id) === hash || isSubset(content, live) || isSubset(asModel(), live)) return 'unchanged';
    }
    const path = objectPath(body);
    const result = path
      ? await this.d.kube.raw.apply<KubernetesObject>(path, body, FIELD_MANAGER)
      : await this.d.kube.objects.patch(toModel(body), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    if (!isSubset(body, result) && hash) {
      this.normalized.set(id, hash);
      this.d.log.debug({ object: id }, 'the API server normalises this object; comparing by hash only');
    }
    return live ? 'updated' : 'created';
  }
}
