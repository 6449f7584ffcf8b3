import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1CustomResourceDefinition,
  type V1Deployment,
  Watch,
} from '@kubernetes/client-node';
import { eventually, pinnedVersions, requireEnv, runId } from './env.ts';

requireEnv('KUBECONFIG');
const kc = new KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const extensions = kc.makeApiClient(ApiextensionsV1Api);
const customObjects = kc.makeApiClient(CustomObjectsApi);
const autoscaling = kc.makeApiClient(AutoscalingV2Api);
const namespace = `infra-test-${runId}`;

before(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

after(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

test('kubectl and the apiserver report the Kubernetes version that was built', () => {
  const expected = pinnedVersions().KUBE_VERSION;
  const server = JSON.parse(execFileSync('kubectl', ['get', '--raw', '/version'], { encoding: 'utf8' })) as {
    gitVersion: string;
    major: string;
    minor: string;
  };
  assert.equal(server.gitVersion, expected);
  assert.equal(`v${server.major}.${server.minor}`, expected?.split('.').slice(0, 2).join('.'));
  const client = JSON.parse(execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' })) as {
    clientVersion: { gitVersion: string };
  };
  assert.equal(client.clientVersion.gitVersion, expected);
});

test('a CRD becomes Established and a watch sees its custom object created and changed', { timeout: 90_000 }, async () => {
  const group = 'infratest.stockify.io';
  const plural = `gadgets${runId}`;
  const crd: V1CustomResourceDefinition = {
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: `gadget${runId}`, kind: `Gadget${runId}`, listKind: `Gadget${runId}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } } },
            },
          },
        },
      ],
    },
  };
  await extensions.createCustomResourceDefinition({ body: crd });
  try {
    await eventually('the CRD to be Established', 30_000, async () => {
      const current = await extensions.readCustomResourceDefinition({ name: `${plural}.${group}` });
      const established = current.status?.conditions?.find((c) => c.type === 'Established');
      return established?.status === 'True' ? true : undefined;
    });

    const ref = { group, version: 'v1', namespace, plural };
    // Established can precede the moment every apiserver handler serves the new resource.
    await eventually('the new resource to be served', 30_000, async () => {
      await customObjects.listNamespacedCustomObject(ref);
      return true;
    });

    const events: Array<[string, number | undefined]> = [];
    let watchEnded: unknown;
    const watch = new Watch(kc);
    const controller = await watch.watch(
      `/apis/${group}/v1/namespaces/${namespace}/${plural}`,
      {},
      (phase, obj: { spec?: { size?: number } }) => {
        events.push([phase, obj.spec?.size]);
      },
      (err) => {
        watchEnded = err ?? 'closed';
      },
    );
    try {
      await customObjects.createNamespacedCustomObject({
        ...ref,
        body: { apiVersion: `${group}/v1`, kind: `Gadget${runId}`, metadata: { name: 'one' }, spec: { size: 1 } },
      });
      const stored = (await customObjects.getNamespacedCustomObject({ ...ref, name: 'one' })) as {
        spec: { size: number };
      };
      stored.spec.size = 3;
      await customObjects.replaceNamespacedCustomObject({ ...ref, name: 'one', body: stored });
      await eventually('ADDED and MODIFIED watch events', 20_000, async () => {
        assert.equal(watchEnded, undefined, `the watch ended early: ${String(watchEnded)}`);
        return events.some(([p, s]) => p === 'MODIFIED' && s === 3) ? true : undefined;
      });
      assert.deepEqual(events.slice(0, 2), [
        ['ADDED', 1],
        ['MODIFIED', 3],
      ]);
      // The schema is enforced by the apiserver.
      await assert.rejects(
        customObjects.createNamespacedCustomObject({
          ...ref,
          body: { apiVersion: `${group}/v1`, kind: `Gadget${runId}`, metadata: { name: 'bad' }, spec: { size: 0 } },
        }),
      );
    } finally {
      controller.abort();
    }
  } finally {
    await extensions.deleteCustomResourceDefinition({ name: `${plural}.${group}` });
  }
});

test('the controller-manager gives a Deployment a ReplicaSet and garbage-collects it with its owner', {
  timeout: 90_000,
}, async () => {
  const labels = { app: 'infra-test' };
  const deployment: V1Deployment = {
    metadata: { name: 'web', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        // No node runs here: the pods stay Pending, so the image is never pulled.
        spec: { containers: [{ name: 'web', image: 'stockify/infra-test:never-pulled' }] },
      },
    },
  };
  const created = await apps.createNamespacedDeployment({ namespace, body: deployment });
  const uid = created.metadata?.uid;
  assert.ok(uid);

  const rs = await eventually('a ReplicaSet owned by the Deployment', 30_000, async () => {
    const list = await apps.listNamespacedReplicaSet({ namespace });
    return list.items.find((r) => r.metadata?.ownerReferences?.some((o) => o.uid === uid && o.controller));
  });
  assert.equal(rs.spec?.replicas, 2);
  const rsUid = rs.metadata?.uid;
  await eventually('2 pods owned by the ReplicaSet', 30_000, async () => {
    const pods = await core.listNamespacedPod({ namespace });
    const owned = pods.items.filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === rsUid));
    return owned.length === 2 ? owned : undefined;
  });

  await apps.deleteNamespacedDeployment({ namespace, name: 'web', propagationPolicy: 'Background' });
  await eventually('the ReplicaSet and its pods to be garbage-collected', 60_000, async () => {
    const [sets, pods] = await Promise.all([apps.listNamespacedReplicaSet({ namespace }), core.listNamespacedPod({ namespace })]);
    return sets.items.length === 0 && pods.items.length === 0 ? true : undefined;
  });
});

test('the HPA controller of the controller-manager evaluates a HorizontalPodAutoscaler', { timeout: 90_000 }, async () => {
  const labels = { app: 'infra-test-hpa' };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'scaled', labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name: 'c', image: 'stockify/infra-test:never-pulled', resources: { requests: { cpu: '100m' } } }],
          },
        },
      },
    },
  });
  await autoscaling.createNamespacedHorizontalPodAutoscaler({
    namespace,
    body: {
      metadata: { name: 'scaled' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    },
  });
  // Without a metrics server the controller still reports on the target: AbleToScale is set.
  const conditions = await eventually('HPA status conditions from the controller', 60_000, async () => {
    const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name: 'scaled' });
    return hpa.status?.conditions?.length ? hpa.status.conditions : undefined;
  });
  assert.ok(
    conditions.some((c) => c.type === 'AbleToScale'),
    JSON.stringify(conditions),
  );
});
