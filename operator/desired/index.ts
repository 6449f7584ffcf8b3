// MarketFeed → every object the operator owns. Pure: `stockify render` prints this, the reconciler
// diffs and applies it, and `stockify up` runs the same commands as local processes.
import type { ShardFile } from '../../services/core/shardfile.ts';
import type { MarketFeed } from '../crd/types.ts';
import { shardConfigMap, shardFile, shardInstruments } from './configmap.ts';
import { deployment } from './deployment.ts';
import { hpa } from './hpa.ts';
import { ANNOTATION_APPLIED_HASH, COMPONENTS, type Component, hashOf, SHARD_FILE_KEY } from './meta.ts';
import { networkPolicy } from './networkpolicy.ts';
import type { DesiredObject } from './objects.ts';
import { pdb } from './pdb.ts';
import { grpcService } from './service.ts';
import { serviceAccount } from './serviceaccount.ts';

export { shardFile, shardInstruments } from './configmap.ts';
export { componentEnv } from './deployment.ts';
export * from './meta.ts';
export type * from './objects.ts';

export interface BuildOptions {
  /** Market hours decide ingestion replicas and HPA minimums; open when unset. */
  marketOpen?: boolean;
  /** Operator default image (STOCKIFY_IMAGE) when spec.image is unset. */
  image?: string;
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
    out.push(deployment(feed, component, { shard, configHash, replicas, ...(opts.image ? { image: opts.image } : {}) }));
  }
  for (const component of ['processor', 'storage'] as const) {
    const h = hpa(feed, component, shard, marketOpen);
    if (h) out.push(h);
    out.push(pdb(feed, component, shard));
  }
  return out;
}

/** Every object of the feed, each stamped with stockify.io/applied-hash. */
export function desiredObjects(feed: MarketFeed, opts: BuildOptions = {}): DesiredObject[] {
  const groups = shardInstruments(feed.spec);
  const objects: DesiredObject[] = [serviceAccount(feed), grpcService(feed), networkPolicy(feed)];
  for (let shard = 0; shard < feed.spec.shards; shard++) {
    objects.push(...shardObjects(feed, shard, opts, shardFile(feed, shard, groups[shard] ?? [])));
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
  secretEnv: { name: string; secret: string; key: string }[];
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
      else if (ref?.name) secretEnv.push({ name: e.name, secret: ref.name, key: ref.key });
    }
    out.push({ name: o.metadata.name, component, shard: file.shard, args: [...container.args], env, secretEnv, shardFile: file });
  }
  return out;
}
