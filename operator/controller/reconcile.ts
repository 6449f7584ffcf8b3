// The reconcile function: one MarketFeed key in, "done" or "requeue after" out. Idempotent: it reads
// the informer caches, applies (server-side, field manager stockify-operator) only objects whose
// content changed, drains and deletes removed shards, and writes status only when it changed.
import { type KubernetesObject, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from '../../services/core/log.ts';
import { GROUP, PLURAL, VERSION } from '../crd/schema.ts';
import type { MarketFeed, MarketFeedStatus } from '../crd/types.ts';
import { parseSpec, SpecError } from '../crd/validate.ts';
import {
  ANNOTATION_APPLIED_HASH,
  COMPONENTS,
  type Component,
  deploymentName,
  desiredObjects,
  FIELD_MANAGER,
  hasHpa,
  type KubeObject,
  LABEL_INSTANCE,
  LABEL_NAME,
  LABEL_SHARD,
  shardInstruments,
} from '../desired/index.ts';
import { canonicalJson } from '../desired/meta.ts';
import { isOpen, type MarketState, nextBoundary, ScheduleError } from '../schedule.ts';
import type { Clock } from './clock.ts';
import { type Condition, type ConditionInput, conditionOf, setCondition } from './conditions.ts';
import type { EventRecorder } from './events.ts';
import type { Watcher } from './informers.ts';
import { describeError, type Kube, statusOf, toModel } from './kube.ts';
import type { ReconcileResult } from './result.ts';
import { shardTopics, type TopicManager } from './topics.ts';

export const FINALIZER = 'stockify.io/kafka-topics';
const DRAIN_MANAGER = 'stockify-operator-drain';
/** Object applies in flight at once within one reconcile. */
const APPLY_CONCURRENCY = 8;

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

export interface ReconcilerDeps {
  kube: Kube;
  feeds: Watcher<KubernetesObject>;
  owned: Map<string, Watcher>;
  topics: TopicManager;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Default image when spec.image is unset. */
  image: string;
  /** How often a draining shard's lag is checked. */
  drainCheckMs?: number;
}

interface Problem {
  reason: string;
  message: string;
}

type Live = KubernetesObject & {
  spec?: { replicas?: number };
  status?: { replicas?: number; availableReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether every field we set is present with the same value in the live object. */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (isObject(desired)) {
    if (!isObject(live)) return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, live[k]));
  }
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((v, i) => isSubset(v, live[i]));
  }
  if (live instanceof Date) return typeof desired === 'string' && new Date(desired).getTime() === live.getTime();
  // Quantities and int-or-strings may come back as the other type.
  return desired === live || (desired !== undefined && live !== undefined && String(desired) === String(live));
}

function ownedBy(obj: KubernetesObject, uid: string | undefined): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);
}

function deploymentReady(d: Live | undefined): boolean {
  if (!d) return false;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
  return want === 0 || ((s.availableReplicas ?? 0) >= want && (s.updatedReplicas ?? 0) >= want);
}

export class Reconciler {
  private readonly d: ReconcilerDeps;
  /** Feed uid → the topic layout already ensured, so a resync does not call Kafka again. */
  private readonly topicsEnsured = new Map<string, string>();
  /** Objects the API server rewrites (so the subset check never matches): trust the hash alone. */
  private readonly normalized = new Map<string, string>();

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace = '', name = ''] = key.split('/');
    const raw = this.d.feeds.get(name, namespace) as (MarketFeed & KubernetesObject) | undefined;
    if (!raw) return {};
    if (raw.metadata.deletionTimestamp) return this.finalize(raw);

    let feed: MarketFeed;
    try {
      feed = { ...raw, spec: parseSpec(raw.spec) };
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      await this.writeStatus(
        raw,
        this.statusWith(raw, [{ type: 'Degraded', status: 'True', reason: 'InvalidSpec', message: err.message }]),
      );
      return {};
    }
    await this.syncFinalizer(raw, feed.spec.kafka.deletionPolicy === 'Delete');
    if (feed.spec.paused) {
      await this.writeStatus(
        raw,
        this.statusWith(raw, [
          { type: 'Progressing', status: 'False', reason: 'Paused', message: 'spec.paused is true: nothing is reconciled' },
        ]),
      );
      return {};
    }

    const now = new Date(this.d.clock.now());
    const problems: Problem[] = [];

    let market: MarketState | undefined;
    let boundary: Date | undefined;
    try {
      market = isOpen(feed.spec.schedule, now);
      boundary = nextBoundary(feed.spec.schedule, now);
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      problems.push({ reason: 'InvalidTimezone', message: `${err.message}; running as if the market were open` });
    }

    // Secrets, Kafka topics and the objects are independent: do them side by side.
    const desired = desiredObjects(feed, { marketOpen: market?.open ?? true, image: this.d.image });
    const createdShards: number[] = [];
    let applied = 0;
    const [secretProblems, topicProblems] = await Promise.all([
      this.checkSecrets(feed),
      this.ensureTopics(feed),
      mapLimit(desired, APPLY_CONCURRENCY, async (object) => {
        try {
          const outcome = await this.applyIfChanged(feed, object);
          if (outcome !== 'unchanged') applied++;
          if (outcome === 'created' && object.kind === 'ConfigMap')
            createdShards.push(Number(object.metadata.labels[LABEL_SHARD]));
        } catch (err) {
          problems.push({ reason: 'ApplyFailed', message: `${object.kind} ${object.metadata.name}: ${describeError(err)}` });
        }
      }),
    ]);
    problems.push(...secretProblems, ...topicProblems);
    // A stable order keeps the Degraded message (and so the status) identical across retries.
    problems.sort((a, b) => a.reason.localeCompare(b.reason) || a.message.localeCompare(b.message));
    createdShards.sort((a, b) => a - b);
    if (createdShards.length > 0) {
      await this.d.events.record(
        feed,
        'Normal',
        'ShardCreated',
        `created shard(s) ${createdShards.join(', ')} of ${feed.spec.shards}`,
      );
    }

    // Removed shards: stop ingestion, wait for the consumers to catch up, then delete.
    const draining = await this.drainRemovedShards(feed, problems);

    const status = this.computeStatus(raw, feed, { market, boundary, problems, draining, applied });
    const previous = raw.status;
    await this.writeStatus(raw, status);
    await this.transitionEvents(feed, previous, status);

    const delays: number[] = [];
    if (boundary) delays.push(Math.max(1, boundary.getTime() - now.getTime()));
    if (draining.length > 0) delays.push(this.d.drainCheckMs ?? 5_000);
    return {
      ...(delays.length > 0 ? { requeueAfterMs: Math.min(...delays) } : {}),
      ...(problems.length > 0 ? { retry: true } : {}),
    };
  }

  private liveOf(kind: string, name: string, namespace: string): Live | undefined {
    return this.d.owned.get(kind)?.get(name, namespace) as Live | undefined;
  }

  private async applyIfChanged(feed: MarketFeed, desired: KubeObject): Promise<'created' | 'updated' | 'unchanged'> {
    const { name, namespace } = desired.metadata;
    const live = this.liveOf(desired.kind, name, namespace);
    let body = desired;
    if (live && desired.kind === 'Deployment') {
      // Fixed-size consumers: replicas are set on create only; afterwards `kubectl scale` owns them.
      const component = desired.metadata.labels[LABEL_NAME] as Component;
      if (component !== 'ingestion' && !hasHpa(feed, component) && live.spec?.replicas !== undefined) {
        body = { ...desired, spec: { ...(desired.spec as Record<string, unknown>), replicas: live.spec.replicas } };
      }
    }
    const hash = desired.metadata.annotations?.[ANNOTATION_APPLIED_HASH];
    const id = `${desired.kind}/${namespace}/${name}`;
    if (live && live.metadata?.annotations?.[ANNOTATION_APPLIED_HASH] === hash && ownedBy(live, feed.metadata.uid)) {
      // Listed items carry no apiVersion/kind (watched ones do): compare the rest.
      const { apiVersion: _v, kind: _k, ...content } = body;
      if (this.normalized.get(id) === hash || isSubset(content, live)) return 'unchanged';
    }
    const result = await this.d.kube.objects.patch(
      toModel(body),
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
    if (!isSubset(body, result) && hash) {
      this.normalized.set(id, hash);
      this.d.log.debug({ object: id }, 'the API server normalises this object; comparing by hash only');
    }
    return live ? 'updated' : 'created';
  }

  /** Shards present in the cluster for this feed (from owned Deployments and ConfigMaps). */
  private existingShards(feed: MarketFeed): Set<number> {
    const shards = new Set<number>();
    for (const kind of ['Deployment', 'ConfigMap']) {
      for (const o of this.d.owned.get(kind)?.list(feed.metadata.namespace) ?? []) {
        const shard = o.metadata?.labels?.[LABEL_SHARD];
        if (o.metadata?.labels?.[LABEL_INSTANCE] === feed.metadata.name && shard !== undefined && ownedBy(o, feed.metadata.uid)) {
          shards.add(Number(shard));
        }
      }
    }
    return shards;
  }

  private async drainRemovedShards(feed: MarketFeed, problems: Problem[]): Promise<{ index: number; lag?: number }[]> {
    const { name, namespace } = feed.metadata;
    const removed = [...this.existingShards(feed)].filter((s) => s >= feed.spec.shards).sort((a, b) => a - b);
    const draining: { index: number; lag?: number }[] = [];
    for (const shard of removed) {
      const ingestion = this.liveOf('Deployment', deploymentName(name, 'ingestion', shard), namespace);
      if (ingestion && (ingestion.spec?.replicas ?? 1) > 0) {
        try {
          await this.d.kube.objects.patch(
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: deploymentName(name, 'ingestion', shard), namespace },
              spec: { replicas: 0 },
            },
            undefined,
            undefined,
            DRAIN_MANAGER,
            undefined,
            PatchStrategy.MergePatch,
          );
          await this.d.events.record(
            feed,
            'Normal',
            'ShardDraining',
            `shard ${shard} removed: ingestion stopped, waiting for its consumers to catch up`,
          );
        } catch (err) {
          problems.push({ reason: 'DrainFailed', message: `shard ${shard}: ${describeError(err)}` });
        }
        draining.push({ index: shard });
        continue;
      }
      if (ingestion && (ingestion.status?.replicas ?? 0) > 0) {
        draining.push({ index: shard });
        continue;
      }
      let lag: number;
      try {
        lag = await this.d.topics.shardLag(feed, shard);
      } catch (err) {
        problems.push({ reason: 'KafkaUnreachable', message: `lag of shard ${shard}: ${describeError(err)}` });
        draining.push({ index: shard });
        continue;
      }
      if (lag > 0) {
        draining.push({ index: shard, lag });
        continue;
      }
      try {
        await this.deleteShard(feed, shard);
        let note = '';
        if (feed.spec.kafka.deletionPolicy === 'Delete') {
          const gone = await this.d.topics.deleteTopics(feed, shardTopics(feed, shard));
          note = gone.length > 0 ? `; deleted topics ${gone.join(', ')}` : '';
        }
        await this.d.events.record(feed, 'Normal', 'ShardRemoved', `shard ${shard} drained (lag 0) and removed${note}`);
      } catch (err) {
        problems.push({ reason: 'DrainFailed', message: `removing shard ${shard}: ${describeError(err)}` });
        draining.push({ index: shard, lag: 0 });
      }
    }
    return draining;
  }

  private async deleteShard(feed: MarketFeed, shard: number): Promise<void> {
    for (const [kind, watcher] of this.d.owned) {
      for (const o of watcher.list(feed.metadata.namespace)) {
        const l = o.metadata?.labels ?? {};
        if (l[LABEL_INSTANCE] !== feed.metadata.name || l[LABEL_SHARD] !== String(shard) || !ownedBy(o, feed.metadata.uid))
          continue;
        try {
          await this.d.kube.objects.delete(
            {
              apiVersion: watcher.kind.apiVersion,
              kind,
              metadata: { name: o.metadata?.name ?? '', namespace: feed.metadata.namespace },
            },
            undefined,
            undefined,
            undefined,
            undefined,
            'Background',
          );
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }
    }
  }

  private async checkSecrets(feed: MarketFeed): Promise<Problem[]> {
    const refs: { name: string; keys: string[]; what: string }[] = [
      { name: feed.spec.postgres.secretRef.name, keys: [feed.spec.postgres.secretRef.key], what: 'spec.postgres.secretRef' },
    ];
    const dhan = feed.spec.source.dhan;
    if (feed.spec.source.type === 'dhan' && dhan) {
      const r = dhan.credentialsSecretRef;
      refs.push({ name: r.name, keys: [r.clientIdKey, r.accessTokenKey], what: 'spec.source.dhan.credentialsSecretRef' });
    }
    const problems: Problem[] = [];
    for (const ref of refs) {
      try {
        const secret = await this.d.kube.core.readNamespacedSecret({ name: ref.name, namespace: feed.metadata.namespace });
        const missing = ref.keys.filter((k) => secret.data?.[k] === undefined && secret.stringData?.[k] === undefined);
        if (missing.length > 0) {
          problems.push({
            reason: 'SecretKeyMissing',
            message: `Secret ${ref.name} (${ref.what}) has no key ${missing.join(', ')}`,
          });
        }
      } catch (err) {
        if (statusOf(err) === 404)
          problems.push({ reason: 'SecretNotFound', message: `Secret ${ref.name} (${ref.what}) does not exist` });
        else problems.push({ reason: 'SecretUnreadable', message: `Secret ${ref.name}: ${describeError(err)}` });
      }
    }
    return problems;
  }

  private async ensureTopics(feed: MarketFeed): Promise<Problem[]> {
    const k = feed.spec.kafka;
    const layout = `${k.bootstrapServers}|${feed.spec.shards}|${k.partitionsPerShard}|${k.replicationFactor}`;
    const uid = feed.metadata.uid ?? `${feed.metadata.namespace}/${feed.metadata.name}`;
    if (this.topicsEnsured.get(uid) === layout) return [];
    try {
      const { created, grown } = await this.d.topics.ensure(feed);
      this.topicsEnsured.set(uid, layout);
      if (created.length > 0 || grown.length > 0) {
        const parts = [
          created.length ? `created ${created.join(', ')}` : '',
          grown.length ? `grew ${grown.join(', ')}` : '',
        ].filter(Boolean);
        await this.d.events.record(feed, 'Normal', 'TopicsReady', `Kafka topics: ${parts.join('; ')}`);
      }
      return [];
    } catch (err) {
      return [{ reason: 'KafkaUnreachable', message: `Kafka ${k.bootstrapServers}: ${describeError(err)}` }];
    }
  }

  private computeStatus(
    raw: MarketFeed,
    feed: MarketFeed,
    r: {
      market: MarketState | undefined;
      boundary: Date | undefined;
      problems: Problem[];
      draining: { index: number; lag?: number }[];
      applied: number;
    },
  ): MarketFeedStatus {
    const { name, namespace } = feed.metadata;
    const groups = shardInstruments(feed.spec);
    const shardStatuses: NonNullable<MarketFeedStatus['shardStatuses']> = [];
    let readyShards = 0;
    for (let i = 0; i < feed.spec.shards; i++) {
      const ready = COMPONENTS.every((c) => deploymentReady(this.liveOf('Deployment', deploymentName(name, c, i), namespace)));
      if (ready) readyShards++;
      shardStatuses.push({ index: i, instruments: groups[i]?.length ?? 0, ready });
    }
    for (const d of r.draining) {
      shardStatuses.push({
        index: d.index,
        instruments: 0,
        ready: false,
        draining: true,
        ...(d.lag === undefined ? {} : { lag: d.lag }),
      });
    }
    const n = feed.spec.shards;
    const allReady = readyShards === n;
    const inputs: ConditionInput[] = [
      allReady
        ? { type: 'Ready', status: 'True', reason: 'AllShardsReady', message: `${n}/${n} shards ready` }
        : { type: 'Ready', status: 'False', reason: 'ShardsNotReady', message: `${readyShards}/${n} shards ready` },
      r.draining.length > 0
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'Resharding',
            message: `draining removed shard(s) ${r.draining.map((d) => d.index).join(', ')} before deleting them`,
          }
        : !allReady || r.applied > 0
          ? { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `${readyShards}/${n} shards ready` }
          : { type: 'Progressing', status: 'False', reason: 'Complete', message: `${n} shard(s) up to date` },
      r.problems.length > 0
        ? {
            type: 'Degraded',
            status: 'True',
            reason: r.problems[0]?.reason ?? 'Error',
            message: r.problems.map((p) => p.message).join('; '),
          }
        : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'no problems found' },
      r.market
        ? r.market.open
          ? {
              type: 'MarketOpen',
              status: 'True',
              reason: r.market.reason,
              message: r.market.reason === 'AlwaysOpen' ? 'no schedule: always open' : 'within market hours',
            }
          : {
              type: 'MarketOpen',
              status: 'False',
              reason: r.market.reason,
              message: r.market.reason === 'Holiday' ? 'market holiday' : 'outside market hours',
            }
        : { type: 'MarketOpen', status: 'Unknown', reason: 'InvalidTimezone', message: 'the schedule cannot be evaluated' },
    ];
    const base = this.statusWith(raw, inputs);
    const shardsPresent = new Set([...Array.from({ length: n }, (_, i) => i), ...r.draining.map((d) => d.index)]);
    return {
      ...base,
      shards: shardsPresent.size,
      readyShards,
      selector: `${LABEL_INSTANCE}=${name}`,
      shardStatuses,
      ...(r.boundary ? { nextScheduleBoundary: r.boundary.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
    };
  }

  /** The feed's status with some conditions set (others kept). */
  private statusWith(raw: MarketFeed, inputs: ConditionInput[]): MarketFeedStatus {
    const generation = (raw.metadata as { generation?: number }).generation ?? 0;
    const now = new Date(this.d.clock.now());
    let conditions: Condition[] = [...(raw.status?.conditions ?? [])];
    for (const input of inputs) conditions = setCondition(conditions, input, generation, now);
    const { nextScheduleBoundary: _drop, ...rest } = raw.status ?? {};
    return { ...rest, observedGeneration: generation, conditions };
  }

  private async writeStatus(raw: MarketFeed, status: MarketFeedStatus): Promise<void> {
    if (canonicalJson(raw.status ?? {}) === canonicalJson(status)) return;
    const body: Record<string, unknown> = { ...status };
    for (const k of Object.keys(raw.status ?? {})) if (!(k in body)) body[k] = null; // merge patch removes with null
    await this.d.kube.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: raw.metadata.namespace,
        plural: PLURAL,
        name: raw.metadata.name,
        body: { status: body },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private async transitionEvents(feed: MarketFeed, before: MarketFeedStatus | undefined, after: MarketFeedStatus): Promise<void> {
    const was = (t: 'Degraded' | 'MarketOpen' | 'Progressing') => conditionOf(before, t);
    const now = (t: 'Degraded' | 'MarketOpen' | 'Progressing') => conditionOf(after, t);
    const degraded = now('Degraded');
    if (degraded?.status === 'True' && (was('Degraded')?.status !== 'True' || was('Degraded')?.reason !== degraded.reason)) {
      await this.d.events.record(feed, 'Warning', degraded.reason, degraded.message);
    }
    if (was('Degraded')?.status === 'True' && degraded?.status === 'False') {
      await this.d.events.record(feed, 'Normal', 'Recovered', 'no problems found any more');
    }
    const market = now('MarketOpen');
    const previousMarket = was('MarketOpen');
    if (market && previousMarket && market.status !== previousMarket.status && market.status !== 'Unknown') {
      await this.d.events.record(feed, 'Normal', market.status === 'True' ? 'MarketOpened' : 'MarketClosed', market.message);
    }
    // First reconcile of a new shard count (the generation moved and the shards differ).
    if (
      before?.shards !== undefined &&
      before.shards !== feed.spec.shards &&
      before.observedGeneration !== after.observedGeneration
    ) {
      await this.d.events.record(feed, 'Normal', 'Resharded', `resharding ${before.shards} → ${feed.spec.shards} shards`);
    }
  }

  private async syncFinalizer(raw: MarketFeed, want: boolean): Promise<void> {
    const finalizers = raw.metadata.finalizers ?? [];
    const has = finalizers.includes(FINALIZER);
    if (want === has) return;
    const next = want ? [...finalizers, FINALIZER] : finalizers.filter((f) => f !== FINALIZER);
    await this.d.kube.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: raw.metadata.namespace,
        plural: PLURAL,
        name: raw.metadata.name,
        body: { metadata: { finalizers: next, resourceVersion: raw.metadata.resourceVersion } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Deletion with deletionPolicy Delete: remove the feed's topics, then let the feed go. */
  private async finalize(raw: MarketFeed): Promise<ReconcileResult> {
    if (!(raw.metadata.finalizers ?? []).includes(FINALIZER)) return {};
    let feed: MarketFeed;
    try {
      feed = { ...raw, spec: parseSpec(raw.spec) };
    } catch {
      feed = raw;
    }
    const shards = Math.max(feed.spec.shards, ...[...this.existingShards(feed)].map((s) => s + 1));
    const topics = [`market.dlq.${feed.metadata.namespace}.${feed.metadata.name}`];
    for (let i = 0; i < shards; i++) topics.push(...shardTopics(feed, i));
    try {
      const deleted = await this.d.topics.deleteTopics(feed, topics);
      this.d.log.info({ feed: `${feed.metadata.namespace}/${feed.metadata.name}`, deleted }, 'deleted Kafka topics');
    } catch (err) {
      await this.d.events.record(
        feed,
        'Warning',
        'TopicDeletionFailed',
        `Kafka ${feed.spec.kafka.bootstrapServers}: ${describeError(err)}`,
      );
      return { retry: true };
    }
    await this.syncFinalizer(raw, false);
    this.topicsEnsured.delete(raw.metadata.uid ?? '');
    return {};
  }
}
