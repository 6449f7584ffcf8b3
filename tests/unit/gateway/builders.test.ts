import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { CLUSTER_JWKS_URL } from '../../../operator/desired/gateway.ts';
import { desiredObjects, standaloneProcesses } from '../../../operator/desired/index.ts';

type Doc = { metadata: Record<string, unknown>; spec: Record<string, unknown> };
function feed(mutate: (doc: Doc) => void = () => {}): MarketFeed {
  const doc = parse(readFileSync('k8s/samples/simulator.yaml', 'utf8')) as Doc;
  doc.metadata.uid = 'uid-1';
  mutate(doc);
  return parseMarketFeed(doc);
}
type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
type Obj = {
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown> & {
    template?: { spec: { automountServiceAccountToken?: boolean; containers: { args: string[]; env: Env[] }[] } };
  };
};
const objects = (f: MarketFeed) => desiredObjects(f) as unknown as Obj[];
const named = (os: Obj[], kind: string, name: string) => os.find((o) => o.kind === kind && o.metadata.name === name);
const envOf = (o: Obj | undefined) => o?.spec.template?.spec.containers[0]?.env ?? [];
const HS = { hs256SecretRef: { name: 'gw-jwt' } };

describe('spec.gateway builders', () => {
  test('the sample feed gets a <feed>-gateway Deployment, Service and PDB with the feed labels', () => {
    const os = objects(feed());
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget']) {
      const o = named(os, kind, 'nifty-gateway');
      assert.ok(o, kind);
      assert.equal(o.metadata.labels['app.kubernetes.io/name'], 'gateway');
      assert.equal(o.metadata.labels['app.kubernetes.io/instance'], 'nifty');
      assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'stockify-operator');
    }
    const dep = named(os, 'Deployment', 'nifty-gateway');
    assert.deepEqual(dep?.spec.template?.spec.containers[0]?.args, ['gateway']);
    const env = Object.fromEntries(envOf(dep).map((e) => [e.name, e.value]));
    assert.equal(env.MARKETDATA_ENDPOINT, 'nifty-grpc:50051');
    assert.equal(env.REDIS_URL, 'redis://127.0.0.1:6379');
    assert.equal(dep?.spec.replicas, 1);
    assert.equal(named(os, 'HorizontalPodAutoscaler', 'nifty-gateway'), undefined);
  });

  test('no spec.gateway: no gateway objects; autoscaling: an HPA owns the replicas', () => {
    assert.equal(objects(feed((d) => delete d.spec.gateway)).filter((o) => o.metadata.name.endsWith('-gateway')).length, 0);
    const os = objects(feed((d) => (d.spec.gateway = { autoscaling: { minReplicas: 2, maxReplicas: 5 } })));
    const hpa = named(os, 'HorizontalPodAutoscaler', 'nifty-gateway');
    assert.deepEqual([hpa?.spec.minReplicas, hpa?.spec.maxReplicas], [2, 5]);
    assert.equal(named(os, 'Deployment', 'nifty-gateway')?.spec.replicas, undefined);
  });

  test('spec.auth with an HS256 Secret: the secret reaches gateway, storage and ingestion only by secretKeyRef', () => {
    const os = objects(feed((d) => (d.spec.auth = HS)));
    for (const name of ['nifty-gateway', 'nifty-storage-0', 'nifty-ingestion-0']) {
      const secret = envOf(named(os, 'Deployment', name)).find((e) => e.name === 'AUTH_HS256_SECRET');
      assert.deepEqual(secret?.valueFrom?.secretKeyRef, { name: 'gw-jwt', key: 'secret' }, name);
      assert.equal(secret?.value, undefined);
    }
    assert.equal(envOf(named(os, 'Deployment', 'nifty-processor-0')).filter((e) => e.name.startsWith('AUTH_')).length, 0);
  });

  test("serviceAccountIssuer: the cluster's JWKS, its CA, and a mounted token", () => {
    const os = objects(feed((d) => (d.spec.auth = { serviceAccountIssuer: true })));
    const dep = named(os, 'Deployment', 'nifty-gateway');
    const env = Object.fromEntries(envOf(dep).map((e) => [e.name, e.value]));
    assert.equal(env.AUTH_JWKS_URL, CLUSTER_JWKS_URL);
    assert.equal(env.AUTH_AUDIENCE, 'stockify');
    assert.equal(env.AUTH_DEFAULT_SCOPES, 'read stream');
    assert.match(env.NODE_EXTRA_CA_CERTS ?? '', /ca\.crt$/);
    assert.equal(dep?.spec.template?.spec.automountServiceAccountToken, true);
    assert.equal(named(os, 'Deployment', 'nifty-storage-0')?.spec.template?.spec.automountServiceAccountToken, true);
  });

  test('spec.auth takes exactly one way to verify', () => {
    assert.throws(() => feed((d) => (d.spec.auth = { ...HS, serviceAccountIssuer: true })), /exactly one/);
    assert.throws(() => feed((d) => (d.spec.auth = {})), /exactly one/);
  });

  test('stockify up keeps running the shard processes (the gateway is not a shard process)', () => {
    const procs = standaloneProcesses(feed());
    assert.equal(procs.filter((p) => (p.component as string) === 'gateway').length, 0);
    assert.equal(procs.length, 6);
  });
});
