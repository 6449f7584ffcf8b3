import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { setCondition } from '../../../operator/controller/conditions.ts';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import {
  ANNOTATION_APPLIED_HASH,
  ANNOTATION_CONFIG_HASH,
  desiredObjects,
  type KubeObject,
  standaloneProcesses,
} from '../../../operator/desired/index.ts';
import { instrumentId } from '../../../services/core/messages.ts';
import { parseShardFile } from '../../../services/core/shardfile.ts';
import { shardOf } from '../../../services/core/sharding.ts';

function feed(
  mutate: (doc: { metadata: Record<string, unknown>; spec: Record<string, unknown> }) => void = () => {},
): MarketFeed {
  const doc = parse(readFileSync('k8s/samples/dhan.yaml', 'utf8'));
  doc.metadata.uid = '1234-uid';
  mutate(doc);
  return parseMarketFeed(doc);
}

type Dep = KubeObject & {
  spec: {
    replicas?: number;
    template: {
      metadata: { annotations: Record<string, string> };
      spec: {
        securityContext: Record<string, unknown>;
        containers: {
          args: string[];
          env: { name: string; value?: string; valueFrom?: unknown }[];
          readinessProbe: unknown;
          securityContext: Record<string, unknown>;
        }[];
        volumes: unknown[];
      };
    };
  };
};
const find = (objects: KubeObject[], kind: string, name: string): KubeObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('builders', () => {
  test('a 4-shard feed owns SA, Service, NetworkPolicy and per shard a ConfigMap, 3 Deployments, 2 HPAs and 2 PDBs', () => {
    const objects = desiredObjects(feed());
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    const expected = [
      'ServiceAccount/nse-live-stockify',
      'Service/nse-live-grpc',
      'NetworkPolicy/nse-live-stockify',
      // A Dhan feed: its ingestion pods may record gaps as Events.
      'Role/nse-live-stockify-gaps',
      'RoleBinding/nse-live-stockify-gaps',
    ];
    // spec.gateway of the sample: one per feed.
    expected.push(
      'Deployment/nse-live-gateway',
      'Service/nse-live-gateway',
      'HorizontalPodAutoscaler/nse-live-gateway',
      'PodDisruptionBudget/nse-live-gateway',
    );
    for (let i = 0; i < 4; i++) {
      expected.push(`ConfigMap/nse-live-shard-${i}`);
      for (const c of ['ingestion', 'processor', 'storage']) expected.push(`Deployment/nse-live-${c}-${i}`);
      for (const c of ['processor', 'storage'])
        expected.push(`HorizontalPodAutoscaler/nse-live-${c}-${i}`, `PodDisruptionBudget/nse-live-${c}-${i}`);
    }
    assert.deepEqual(names, expected.sort());
  });

  test('every object carries the fixed labels, a controller ownerReference and an applied hash', () => {
    for (const o of desiredObjects(feed())) {
      assert.equal(o.metadata.labels['app.kubernetes.io/instance'], 'nse-live');
      assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'stockify-operator');
      assert.ok(o.metadata.labels['app.kubernetes.io/name']);
      assert.deepEqual(o.metadata.ownerReferences, [
        {
          apiVersion: 'stockify.io/v1alpha1',
          kind: 'MarketFeed',
          name: 'nse-live',
          uid: '1234-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      assert.match(o.metadata.annotations?.[ANNOTATION_APPLIED_HASH] ?? '', /^[0-9a-f]{16}$/);
    }
  });

  test('each ConfigMap holds a valid shard file with exactly the instruments shardOf assigns it', () => {
    const f = feed();
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const cm = find(desiredObjects(f), 'ConfigMap', `nse-live-shard-${i}`) as KubeObject & { data: Record<string, string> };
      const file = parseShardFile(JSON.parse(cm.data['shard.json'] ?? ''));
      assert.equal(file.shard, i);
      assert.equal(file.shardCount, 4);
      for (const inst of file.instruments) {
        assert.equal(shardOf(instrumentId(inst.segment, inst.securityId), 4), i);
        seen.push(instrumentId(inst.segment, inst.securityId));
      }
    }
    assert.equal(seen.length, f.spec.instruments.length);
  });

  test('secrets reach the pods only via secretKeyRef', () => {
    const objects = desiredObjects(feed());
    const ingestion = find(objects, 'Deployment', 'nse-live-ingestion-0') as Dep;
    const storage = find(objects, 'Deployment', 'nse-live-storage-0') as Dep;
    const env = (d: Dep) => Object.fromEntries(d.spec.template.spec.containers[0]?.env.map((e) => [e.name, e]) ?? []);
    assert.deepEqual(env(storage).DATABASE_URL?.valueFrom, { secretKeyRef: { name: 'stockify-postgres', key: 'url' } });
    assert.deepEqual(env(ingestion).DHAN_ACCESS_TOKEN?.valueFrom, { secretKeyRef: { name: 'dhan-creds', key: 'accessToken' } });
    assert.deepEqual(env(ingestion).DHAN_FEED_URL?.valueFrom, {
      secretKeyRef: { name: 'dhan-creds', key: 'feedUrl', optional: true },
    });
    assert.deepEqual(env(ingestion).DHAN_CLIENT_ID?.valueFrom, { secretKeyRef: { name: 'dhan-creds', key: 'clientId' } });
    assert.equal(env(ingestion).DATABASE_URL, undefined);
    assert.equal(env(storage).INSTRUMENTS_FILE?.value, '/etc/stockify/shard.json');
    assert.equal(env(storage).SHARD_INDEX?.value, '0');
    assert.equal(env(storage).SHARD_COUNT?.value, '4');
  });

  test('spec.source.dhan.scripMasterUrl reaches ingestion as DHAN_SCRIP_MASTER_URL (live option contracts); unset, no variable', () => {
    const url = 'https://example.com/api-scrip-master.csv';
    const env = (f: MarketFeed) =>
      (find(desiredObjects(f), 'Deployment', 'nse-live-ingestion-0') as Dep).spec.template.spec.containers[0]?.env.find(
        (e) => e.name === 'DHAN_SCRIP_MASTER_URL',
      );
    const withUrl = feed((doc) => {
      (doc.spec.source as { dhan: Record<string, unknown> }).dhan.scripMasterUrl = url;
    });
    assert.deepEqual(env(withUrl), { name: 'DHAN_SCRIP_MASTER_URL', value: url });
    assert.equal(env(feed()), undefined);
  });

  test('pods run restricted with gRPC probes and a read-only root file system', () => {
    const d = find(desiredObjects(feed()), 'Deployment', 'nse-live-processor-2') as Dep;
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    assert.deepEqual(c?.args, ['processor']);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
    assert.deepEqual(c?.securityContext.capabilities, { drop: ['ALL'] });
    assert.equal(c?.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c?.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c?.readinessProbe, { grpc: { port: 50051 }, periodSeconds: 5, failureThreshold: 2 });
  });

  test('a Dhan ingestion rolls make-before-break (one surge pod, never fewer than the desired ones); a simulator one recreates', () => {
    const objects = desiredObjects(feed());
    for (const c of ['ingestion', 'processor', 'storage']) {
      const d = find(objects, 'Deployment', `nse-live-${c}-1`) as Dep & { spec: { strategy: unknown } };
      assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, c);
    }
    const simulated = desiredObjects(feed((d) => Object.assign(d.spec, { source: { type: 'simulator' } }))).find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'nse-live-ingestion-1',
    ) as Dep & { spec: { strategy: unknown } };
    assert.deepEqual(simulated.spec.strategy, { type: 'Recreate' });
    // The surge pod counts as available only once its source is subscribed (/readyz), not when it serves gRPC.
    const ingestion = find(objects, 'Deployment', 'nse-live-ingestion-1') as Dep;
    assert.deepEqual(ingestion.spec.template.spec.containers[0]?.readinessProbe, {
      httpGet: { path: '/readyz', port: 'metrics' },
      periodSeconds: 2,
      failureThreshold: 2,
    });
  });

  test('replicas are left out of HPA-owned Deployments and set for fixed ones', () => {
    const auto = find(desiredObjects(feed()), 'Deployment', 'nse-live-storage-0') as Dep;
    assert.equal('replicas' in auto.spec, false);
    const fixed = find(
      desiredObjects(feed((d) => Object.assign(d.spec, { storage: { replicas: 2 } }))),
      'Deployment',
      'nse-live-storage-0',
    ) as Dep;
    assert.equal(fixed.spec.replicas, 2);
  });

  test('a simulator source without settings gets the CRD schema defaults in the shard file', () => {
    const f = feed((d) => Object.assign(d.spec, { source: { type: 'simulator' } }));
    const cm = find(desiredObjects(f), 'ConfigMap', 'nse-live-shard-0') as KubeObject & { data: Record<string, string> };
    assert.deepEqual(parseShardFile(JSON.parse(cm.data['shard.json'] ?? '')).source, {
      type: 'simulator',
      seed: 42,
      ticksPerSecond: 200,
      chainSnapshotsPerSecond: 1,
    });
  });

  test('HPA maxReplicas never exceeds the partitions per shard', () => {
    const f = feed((d) =>
      Object.assign(d.spec, {
        kafka: { bootstrapServers: 'k:9092', partitionsPerShard: 2 },
        processor: { autoscaling: { maxReplicas: 2 } },
        storage: { autoscaling: { maxReplicas: 2 } },
      }),
    );
    const h = find(desiredObjects(f), 'HorizontalPodAutoscaler', 'nse-live-processor-0') as KubeObject & {
      spec: { maxReplicas: number };
    };
    assert.equal(h.spec.maxReplicas, 2);
  });

  test('HPA behaviour defaults to scale up at once and down calmly (market open)', () => {
    const h = find(desiredObjects(feed()), 'HorizontalPodAutoscaler', 'nse-live-processor-0') as KubeObject & {
      spec: { behavior: unknown };
    };
    assert.deepEqual(h.spec.behavior, {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        policies: [
          { type: 'Percent', value: 100, periodSeconds: 15 },
          { type: 'Pods', value: 4, periodSeconds: 15 },
        ],
        selectPolicy: 'Max',
      },
      scaleDown: { stabilizationWindowSeconds: 300 },
    });
  });

  test('HPA behaviour from the spec reaches the HPA as written', () => {
    const scaleDown = {
      stabilizationWindowSeconds: 600,
      policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
      selectPolicy: 'Min',
    };
    const f = feed((d) =>
      Object.assign(d.spec, {
        storage: { autoscaling: { maxReplicas: 3, behavior: { scaleUp: { stabilizationWindowSeconds: 30 }, scaleDown } } },
      }),
    );
    const h = find(desiredObjects(f), 'HorizontalPodAutoscaler', 'nse-live-storage-1') as KubeObject & {
      spec: { behavior: { scaleUp: { stabilizationWindowSeconds: number; selectPolicy: string }; scaleDown: unknown } };
    };
    assert.equal(h.spec.behavior.scaleUp.stabilizationWindowSeconds, 30);
    assert.equal(h.spec.behavior.scaleUp.selectPolicy, 'Max');
    assert.deepEqual(h.spec.behavior.scaleDown, scaleDown);
  });

  test('HPA behaviour outside its limits is rejected on the field', () => {
    const bad = (behavior: unknown) =>
      assert.throws(
        () => feed((d) => Object.assign(d.spec, { processor: { autoscaling: { behavior } } })),
        /spec\.processor\.autoscaling\.behavior\./,
      );
    bad({ scaleDown: { stabilizationWindowSeconds: 3601 } });
    bad({ scaleUp: { policies: [{ type: 'Nodes', value: 1, periodSeconds: 15 }] } });
    bad({ scaleUp: { policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } });
    bad({ scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 1801 }] } });
    bad({ scaleUp: { selectPolicy: 'Sometimes' } });
  });

  test('outside market hours ingestion drops to closed.minReplicas and HPA minimums to 1', () => {
    const f = feed((d) => Object.assign(d.spec, { processor: { autoscaling: { minReplicas: 2, maxReplicas: 3 } } }));
    const closed = desiredObjects(f, { marketOpen: false });
    assert.equal((find(closed, 'Deployment', 'nse-live-ingestion-0') as Dep).spec.replicas, 0);
    const h = find(closed, 'HorizontalPodAutoscaler', 'nse-live-processor-0') as KubeObject & { spec: { minReplicas: number } };
    assert.equal(h.spec.minReplicas, 1);
    const open = desiredObjects(f, { marketOpen: true });
    assert.equal((find(open, 'Deployment', 'nse-live-ingestion-0') as Dep).spec.replicas, 1);
  });

  test('spec.storage retention and compression reach the shard file; unset ones stay unset or take the schema default', () => {
    const shard = (f: MarketFeed) => {
      const cm = find(desiredObjects(f), 'ConfigMap', 'nse-live-shard-0') as KubeObject & { data: Record<string, string> };
      return parseShardFile(JSON.parse(cm.data['shard.json'] ?? ''));
    };
    assert.deepEqual(shard(feed()).storage, { retention: { bars1m: 0, gex: 0 }, compressAfterDays: 7 });
    const set = shard(
      feed((d) => Object.assign(d.spec, { storage: { retention: { ticks: 10, gex: 365 }, compressAfterDays: 2 } })),
    );
    assert.deepEqual(set.storage, { retention: { ticks: 10, bars1m: 0, gex: 365 }, compressAfterDays: 2 });
  });

  test('the same spec builds the same hashes; a changed shard file changes the pod template hash', () => {
    const a = desiredObjects(feed());
    const b = desiredObjects(feed());
    assert.deepEqual(a, b);
    const c = desiredObjects(feed((d) => Object.assign(d.spec, { retentionDays: 7 })));
    const hash = (objs: KubeObject[]) =>
      (find(objs, 'Deployment', 'nse-live-storage-1') as Dep).spec.template.metadata.annotations[ANNOTATION_CONFIG_HASH];
    assert.notEqual(hash(a), hash(c));
  });

  test('standaloneProcesses gives the args, env and shard file of every Deployment', () => {
    const procs = standaloneProcesses(feed());
    assert.equal(procs.length, 12);
    const p = procs.find((x) => x.name === 'nse-live-storage-3');
    assert.deepEqual(p?.args, ['storage']);
    assert.equal(p?.env.SHARD_INDEX, '3');
    assert.deepEqual(p?.secretEnv, [{ name: 'DATABASE_URL', secret: 'stockify-postgres', key: 'url' }]);
    assert.equal(p?.shardFile.shard, 3);
  });
});

describe('conditions', () => {
  test('lastTransitionTime changes only when the status flips', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T00:05:00Z');
    let c = setCondition([], { type: 'Ready', status: 'False', reason: 'Progressing', message: '0/4' }, 1, t1);
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'Progressing', message: '2/4' }, 1, t2);
    assert.equal(c[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(c[0]?.message, '2/4');
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'AllShardsReady', message: '4/4' }, 2, t2);
    assert.equal(c[0]?.lastTransitionTime, '2026-01-01T00:05:00Z');
    assert.equal(c[0]?.observedGeneration, 2);
  });
});
