// Shared plumbing for the operator integration tests: a real kube-apiserver from KUBECONFIG, the
// CRD installed from the generator, a unique namespace per run.
import { randomBytes } from 'node:crypto';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { toModel } from '../../../operator/controller/kube.ts';
import { crdObject } from '../../../operator/crd/generate.ts';

export function kubeConfig(): KubeConfig {
  const path = process.env.KUBECONFIG;
  if (!path) throw new Error('KUBECONFIG is not set: the operator integration tests need a kube-apiserver');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export function brokers(): string {
  const b = process.env.KAFKA_BROKERS;
  if (!b) throw new Error('KAFKA_BROKERS is not set');
  return b;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

export class Cluster {
  readonly kc = kubeConfig();
  readonly objects = KubernetesObjectApi.makeApiClient(this.kc);
  readonly custom = this.kc.makeApiClient(CustomObjectsApi);
  readonly core = this.kc.makeApiClient(CoreV1Api);
  readonly apps = this.kc.makeApiClient(AppsV1Api);

  async installCrd(): Promise<void> {
    await this.objects.patch(
      toModel(crdObject() as KubernetesObject),
      undefined,
      undefined,
      'stockify-tests',
      true,
      PatchStrategy.ServerSideApply,
    );
    await waitFor('the MarketFeed CRD to be established', async () => {
      const crd = (await this.objects.read({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'marketfeeds.stockify.io' },
      })) as KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } };
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
    // The resource must also be served before informers can list it.
    await waitFor('marketfeeds to be served', async () => {
      await this.custom.listClusterCustomObject({ group: 'stockify.io', version: 'v1alpha1', plural: 'marketfeeds' });
      return true;
    });
  }

  async createNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name, labels: { 'stockify.io/test': 'operator' } } } });
  }

  async deleteNamespace(name: string): Promise<void> {
    try {
      await this.core.deleteNamespace({ name });
    } catch {
      // already gone
    }
  }

  async createSecret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
    await this.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
  }

  async applyFeed(feed: Record<string, unknown>): Promise<void> {
    await this.objects.patch(
      feed as KubernetesObject,
      undefined,
      undefined,
      'stockify-tests',
      true,
      PatchStrategy.ServerSideApply,
    );
  }

  async getFeed(namespace: string, name: string): Promise<FeedObject> {
    return (await this.custom.getNamespacedCustomObject({
      group: 'stockify.io',
      version: 'v1alpha1',
      namespace,
      plural: 'marketfeeds',
      name,
    })) as FeedObject;
  }

  /** What `kubectl scale mf/<name> --replicas=N` does: the scale subresource. */
  async scaleFeed(namespace: string, name: string, replicas: number): Promise<void> {
    await this.custom.patchNamespacedCustomObjectScale(
      { group: 'stockify.io', version: 'v1alpha1', namespace, plural: 'marketfeeds', name, body: { spec: { replicas } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async list(namespace: string, apiVersion: string, kind: string, labelSelector: string): Promise<KubernetesObject[]> {
    const res = await this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
    return res.items;
  }

  /**
   * No kubelet here: mark a Deployment available through its status subresource, and its pods Ready
   * through theirs (so the deployment controller, recomputing from the pods, agrees and does not
   * revert it).
   */
  async markAvailable(namespace: string, name: string): Promise<void> {
    const d = await this.apps.readNamespacedDeployment({ name, namespace });
    const replicas = d.spec?.replicas ?? 1;
    const selector = Object.entries(d.spec?.selector.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const now = new Date();
    for (const pod of (await this.core.listNamespacedPod({ namespace, labelSelector: selector })).items) {
      if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      await this.core.patchNamespacedPodStatus(
        {
          name: pod.metadata?.name ?? '',
          namespace,
          body: {
            status: {
              phase: 'Running',
              conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
                type,
                status: 'True',
                lastTransitionTime: now,
              })),
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    await this.apps.patchNamespacedDeploymentStatus(
      {
        name,
        namespace,
        body: {
          status: {
            observedGeneration: d.metadata?.generation ?? 1,
            replicas,
            updatedReplicas: replicas,
            readyReplicas: replicas,
            availableReplicas: replicas,
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export type FeedObject = KubernetesObject & {
  spec: Record<string, unknown> & { shards: number };
  status?: {
    observedGeneration?: number;
    shards?: number;
    selector?: string;
    conditions?: Condition[];
    shardStatuses?: unknown[];
  };
};

export const condition = (feed: FeedObject, type: string): Condition | undefined =>
  feed.status?.conditions?.find((c) => c.type === type);

export function feedManifest(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'stockify.io/v1alpha1',
    kind: 'MarketFeed',
    metadata: { name, namespace },
    spec: {
      kafka: { bootstrapServers: brokers(), partitionsPerShard: 3, replicationFactor: 1 },
      postgres: { secretRef: { name: 'pg' } },
      redis: { url: 'redis://127.0.0.1:6379' },
      processor: { autoscaling: { minReplicas: 1, maxReplicas: 3 } },
      storage: { autoscaling: { minReplicas: 1, maxReplicas: 3 } },
      ...spec,
    },
  };
}

export const manyInstruments = (n: number): { symbol: string; securityId: string; segment: string; kind: string }[] =>
  Array.from({ length: n }, (_, i) => ({ symbol: `SYM${i}`, securityId: String(1000 + i), segment: 'NSE_EQ', kind: 'equity' }));
