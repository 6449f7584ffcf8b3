// MarketFeed → every object the operator owns. Pure: `stockify render` prints this, the reconciler
// diffs and applies it, and `stockify up` runs the same commands as local processes.
import type { ShardFile } from '../../services/core/shardfile.ts';
import { SpecError } from '../crd/jsonschema.ts';
import type { MarketFeed } from '../crd/types.ts';
import { shardConfigMap, shardFile, shardInstruments } from './configmap.ts';
import { deployment } from './deployment.ts';
import { type AccountFeed, type FeedBudget, type FeedPlan, planFeed } from './dhan-budget.ts';
import { gatewayObjects } from './gateway.ts';
import { hpa } from './hpa.ts';
import { ANNOTATION_APPLIED_HASH, COMPONENTS, type Component, deploymentName, hashOf, SHARD_FILE_KEY } from './meta.ts';
import { networkPolicy } from './networkpolicy.ts';
import type { DesiredObject } from './objects.ts';
import { pdb } from './pdb.ts';
import { gapEventsRbac } from './rbac.ts';
import { type SecretHashes, withSecretHash } from './secret-hash.ts';
import { grpcService } from './service.ts';
import { serviceAccount } from './serviceaccount.ts';

export { shardFile, shardInstruments } from './configmap.ts';
export { componentEnv } from './deployment.ts';
export type { AccountFeed, FeedBudget, FeedPlan } from './dhan-budget.ts';
export * from './meta.ts';
export type * from './objects.ts';

export interface BuildOptions {
  /** Market hours decide ingestion replicas and HPA minimums; open when unset. */
  marketOpen?: boolean;
  /** Operator default image (STOCKIFY_IMAGE) when spec.image is unset. */
  image?: string;
  /** Hash of the Secret values each component reads (operator only): a rotation rolls those pods. */
  secretHashes?: SecretHashes;
  /** Consumer lag by Deployment name (<feed>-processor-<i>, <feed>-storage-<i>) when measured: HPA floors. */
  lag?: ReadonlyMap<string, number>;
  /** Other MarketFeeds that may share a Dhan account with this one; none: the feed is alone on it. */
  dhanPeers?: readonly AccountFeed[];
}

/** The feed's Dhan budget among `peers` (undefined for other sources); a refusal names the limit. */
export function dhanBudget(feed: AccountFeed, peers: readonly AccountFeed[] = []): FeedPlan | undefined {
  return planFeed(feed, peers, (f) => shardInstruments(f.spec));
}

/** A Dhan feed that does not fit its account: a spec error naming the limit (render, `stockify up`). */
export class DhanBudgetError extends SpecError {
  constructor(message: string) {
    super('spec.source.dhan', message);
  }
}

/** Throws DhanBudgetError when the feed does not fit its Dhan account; the budget otherwise. */
export function checkDhanBudget(feed: AccountFeed, peers: readonly AccountFeed[] = []): FeedBudget | undefined {
  const plan = dhanBudget(feed, peers);
  if (plan && !plan.ok) throw new DhanBudgetError(plan.message);
  return plan?.budget;
}

/** Stamps the hash of an object's content on it, so an unchanged object is never re-applied. */
export function withAppliedHash<T extends DesiredObject>(object: T): T {
  const hash = hashOf(object);
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [ANNOTATION_APPLIED_HASH]: hash } },
  };
}

export const hasHpa = (feed: MarketFeed, component: Component): boolean =>
  component !== 'ingestion' && feed.spec[component].autoscaling !== undefined;

export function ingestionReplicas(feed: MarketFeed, marketOpen: boolean): number {
  return marketOpen ? 1 : Math.min(1, feed.spec.schedule?.closed.minReplicas ?? 1);
}

/** The objects of one shard: ConfigMap, three Deployments, HPAs and PDBs. */
export function shardObjects(feed: MarketFeed, shard: number, opts: BuildOptions = {}, file?: ShardFile): DesiredObject[] {
  const marketOpen = opts.marketOpen ?? true;
  const sf = file ?? shardFile(feed, shard);
  const configMap = shardConfigMap(feed, sf);
  const configHash = hashOf(configMap.data);
  const out: DesiredObject[] = [configMap];
  for (const component of COMPONENTS) {
    const replicas =
      component === 'ingestion'
        ? ingestionReplicas(feed, marketOpen)
        : hasHpa(feed, component)
          ? undefined
          : feed.spec[component].replicas;
    const built = deployment(feed, component, { shard, configHash, replicas, ...(opts.image ? { image: opts.image } : {}) });
    out.push(withSecretHash(built, opts.secretHashes?.[component]));
  }
  for (const component of ['processor', 'storage'] as const) {
    const h = hpa(feed, component, shard, marketOpen, opts.lag?.get(deploymentName(feed.metadata.name, component, shard)));
    if (h) out.push(h);
    out.push(pdb(feed, component, shard));
  }
  return out;
}

/** Every object of the feed, each stamped with stockify.io/applied-hash. */
export function desiredObjects(feed: MarketFeed, opts: BuildOptions = {}): DesiredObject[] {
  const groups = shardInstruments(feed.spec);
  const dhan = checkDhanBudget(feed, opts.dhanPeers);
  const objects: DesiredObject[] = [serviceAccount(feed), grpcService(feed), networkPolicy(feed)];
  if (feed.spec.source.type === 'dhan') objects.push(...gapEventsRbac(feed));
  objects.push(...gatewayObjects(feed, opts.image ? { image: opts.image } : {}));
  for (let shard = 0; shard < feed.spec.shards; shard++) {
    objects.push(...shardObjects(feed, shard, opts, shardFile(feed, shard, groups[shard] ?? [], dhan)));
  }
  return objects.map(withAppliedHash);
}

export interface StandaloneProcess {
  /** The Deployment name it stands for: <feed>-<component>-<shard>. */
  name: string;
  component: Component;
  shard: number;
  /** Arguments after `stockify` (the container args). */
  args: string[];
  /** Literal environment of the container (INSTRUMENTS_FILE points at the in-pod path: replace it). */
  env: Record<string, string>;
  /** Variables the cluster takes from Secrets; standalone mode supplies them from its own env. */
  secretEnv: { name: string; secret: string; key: string; optional?: boolean }[];
  shardFile: ShardFile;
}

/** The processes `stockify up` runs: exactly the args and env of the built Deployments. */
export function standaloneProcesses(feed: MarketFeed, opts: BuildOptions = {}): StandaloneProcess[] {
  const objects = desiredObjects(feed, { marketOpen: true, ...opts });
  const files = new Map<string, ShardFile>();
  for (const o of objects) {
    if (o.kind === 'ConfigMap') files.set(o.metadata.name, JSON.parse(o.data[SHARD_FILE_KEY] ?? '{}'));
  }
  const out: StandaloneProcess[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const pod = o.spec.template.spec;
    const container = pod?.containers[0];
    const cmName = pod?.volumes?.find((v) => v.configMap)?.configMap?.name ?? '';
    const file = files.get(cmName);
    const component = COMPONENTS.find((c) => c === container?.args?.[0]);
    if (!container?.args || !file || !component) continue;
    const env: Record<string, string> = {};
    const secretEnv: StandaloneProcess['secretEnv'] = [];
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (e.value !== undefined) env[e.name] = e.value;
      else if (ref?.name)
        secretEnv.push({ name: e.name, secret: ref.name, key: ref.key, ...(ref.optional ? { optional: true } : {}) });
    }
    out.push({ name: o.metadata.name, component, shard: file.shard, args: [...container.args], env, secretEnv, shardFile: file });
  }
  return out;
}
