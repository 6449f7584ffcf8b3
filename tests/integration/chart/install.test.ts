// `helm install` into the real local control plane, then the operator run in-process as the
// chart's ServiceAccount (a TokenRequest token, the same credentials a pod gets) to prove the
// chart's RBAC is enough for a full reconcile of a sample MarketFeed; then `helm uninstall`
// removes the operator and leaves the CRD and the users' MarketFeeds alone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { Kafka, logLevel } from 'kafkajs';
import { parse } from 'yaml';
import { type RunningOperator, startOperator } from '../../../operator/controller/operator.ts';
import { chart, helm, kubectl, kubectlBin, ok, root, runId } from './tools.ts';

const ns = `stockify-op-${runId}`;
const feedNs = `stockify-feeds-${runId}`;
const release = `sop-${runId}`;
const fullname = `${release}-stockify-operator`;
const sa = `system:serviceaccount:${ns}:${fullname}`;

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

const getJson = <T>(args: string[]): T | undefined => {
  const r = kubectl([...args, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
};
const exists = (args: string[]): boolean => kubectl(['get', ...args, '-o', 'name']).code === 0;
const canI = (verb: string, resource: string, namespace: string): string =>
  kubectl(['auth', 'can-i', verb, resource, '-n', namespace, `--as=${sa}`]).stdout.trim();

describe('chart: helm install, RBAC proven by a real reconcile, helm uninstall', {
  skip: !process.env.KUBECONFIG && 'KUBECONFIG unset',
}, () => {
  let operator: RunningOperator | undefined;

  before(() => {
    ok(kubectlBin, ['create', 'namespace', feedNs]);
  });

  after(async () => {
    await operator?.stop();
    helm(['uninstall', release, '-n', ns, '--ignore-not-found']);
    kubectl(['delete', 'namespace', ns, feedNs, '--wait=false', '--ignore-not-found']);
    // Topics the reconcile created (deletionPolicy Retain leaves them to us).
    const brokers = process.env.KAFKA_BROKERS;
    if (brokers) {
      const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const mine = (await admin.listTopics()).filter((t) => t.includes(`.${feedNs}.`));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine });
      } finally {
        await admin.disconnect();
      }
    }
  });

  test('helm install succeeds: operator Deployment (2 replicas), ServiceAccount, ClusterRole, bindings, Role, Service', () => {
    const r = helm(['install', release, chart, '-n', ns, '--create-namespace']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STATUS: deployed/);
    assert.match(r.stdout, /kubectl -n markets get mf/, 'NOTES.txt shows the next steps');
    const deploy = getJson<{ spec: { replicas: number; template: { spec: { serviceAccountName: string } } } }>([
      'get',
      'deployment',
      fullname,
      '-n',
      ns,
    ]);
    assert.equal(deploy?.spec.replicas, 2);
    assert.equal(deploy?.spec.template.spec.serviceAccountName, fullname);
    for (const obj of [
      ['serviceaccount', fullname, '-n', ns],
      ['clusterrole', fullname],
      ['clusterrolebinding', fullname],
      ['role', `${fullname}-leader-election`, '-n', ns],
      ['rolebinding', `${fullname}-leader-election`, '-n', ns],
      ['service', `${fullname}-metrics`, '-n', ns],
      ['networkpolicy', fullname, '-n', ns],
      ['crd', 'marketfeeds.stockify.io'],
    ]) {
      assert.ok(exists(obj), `missing ${obj.join(' ')}`);
    }
  });

  test('the ServiceAccount may apply feed objects but may not list Secrets or touch other Leases', () => {
    assert.equal(canI('patch', 'deployments.apps', feedNs), 'yes');
    assert.equal(canI('list', 'marketfeeds.stockify.io', feedNs), 'yes');
    assert.equal(canI('get', 'secrets', feedNs), 'yes');
    assert.equal(canI('list', 'secrets', feedNs), 'no');
    assert.equal(canI('create', 'pods', feedNs), 'no');
    assert.equal(canI('update', 'leases.coordination.k8s.io/stockify-operator', ns), 'yes');
    assert.equal(canI('update', 'leases.coordination.k8s.io/someone-else', ns), 'no');
    assert.equal(canI('create', 'leases.coordination.k8s.io', feedNs), 'no');
  });

  test('a sample MarketFeed applied after the install is accepted', () => {
    ok(kubectlBin, [
      '-n',
      feedNs,
      'create',
      'secret',
      'generic',
      'stockify-postgres',
      `--from-literal=url=${process.env.DATABASE_URL ?? 'postgres://stockify@postgres:5432/stockify'}`,
    ]);
    const r = kubectl(['apply', '-n', feedNs, '-f', join(root, 'k8s/samples/simulator.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /marketfeed\.stockify\.io\/nifty created/);
    assert.ok(exists(['mf', 'nifty', '-n', feedNs]));
  });

  test('the operator, authenticated as the chart ServiceAccount, reconciles the sample: RBAC suffices', async () => {
    const token = ok(kubectlBin, ['create', 'token', fullname, '-n', ns, '--duration=10m']).trim();
    const admin = new KubeConfig();
    admin.loadFromFile(process.env.KUBECONFIG ?? '');
    const cluster = admin.getCurrentCluster();
    assert.ok(cluster, 'the kubeconfig names a cluster');
    const asServiceAccount = new KubeConfig();
    asServiceAccount.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'operator', token }],
      contexts: [{ name: 'operator', cluster: cluster.name, user: 'operator' }],
      currentContext: 'operator',
    });
    const sample = parse(readFileSync(join(root, 'k8s/samples/simulator.yaml'), 'utf8')) as { spec: { shards: number } };

    operator = await startOperator({
      kubeConfig: asServiceAccount,
      namespace: feedNs,
      leaderElect: true,
      leaseNamespace: ns,
      identity: `chart-test-${runId}`,
      metricsPort: 0,
      image: 'docker.io/stockify/stockify:0.1.0',
    });
    const running = operator;

    // The Lease in the release namespace: get/create/update through the Role.
    const lease = await waitFor('the leader Lease', () =>
      getJson<{ spec: { holderIdentity: string } }>(['get', 'lease', 'stockify-operator', '-n', ns]),
    );
    assert.equal(lease.spec.holderIdentity, `chart-test-${runId}`);

    // Every kind the operator applies, for every shard: server-side apply through the ClusterRole.
    // A forbidden call shows up in the Degraded condition: fail at once with the API server's words.
    const forbiddenSoFar = (): void => {
      const mf = getJson<{ status?: { conditions?: { message: string }[] } }>(['get', 'mf', 'nifty', '-n', feedNs]);
      const denied = (mf?.status?.conditions ?? []).find((c) => /forbidden/i.test(c.message));
      if (denied) assert.fail(`the chart RBAC denies a call: ${denied.message.slice(0, 600)}`);
    };
    for (let shard = 0; shard < sample.spec.shards; shard++) {
      for (const obj of [
        ['deployment', `nifty-ingestion-${shard}`],
        ['deployment', `nifty-processor-${shard}`],
        ['deployment', `nifty-storage-${shard}`],
        ['configmap', `nifty-shard-${shard}`],
      ]) {
        await waitFor(
          `${obj.join(' ')}`,
          () => {
            forbiddenSoFar();
            return exists([...obj, '-n', feedNs]) ? true : undefined;
          },
          90_000,
        );
      }
    }
    await waitFor('an HPA', () => (kubectl(['get', 'hpa', '-n', feedNs, '-o', 'name']).stdout.trim() ? true : undefined));
    await waitFor('the gRPC Service', () => (exists(['service', 'nifty-grpc', '-n', feedNs]) ? true : undefined));

    // Status through marketfeeds/status: observedGeneration caught up, conditions written.
    const status = await waitFor('the MarketFeed status', () => {
      const mf = getJson<{
        metadata: { generation: number };
        status?: { observedGeneration?: number; conditions?: { type: string; reason: string; message: string }[] };
      }>(['get', 'mf', 'nifty', '-n', feedNs]);
      return mf?.status?.observedGeneration === mf?.metadata.generation ? mf?.status : undefined;
    });
    const types = (status.conditions ?? []).map((c) => c.type);
    assert.ok(types.includes('Ready') && types.includes('Progressing'), `conditions: ${types.join(', ')}`);
    const forbidden = (status.conditions ?? []).filter((c) => /forbidden/i.test(c.message));
    assert.deepEqual(forbidden, [], 'no condition reports a forbidden API call');

    // The metrics endpoint the chart probes and the helm test asks.
    const port = running.metrics?.port;
    const ready = await waitFor('/readyz 200', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return res.ok ? res.status : undefined;
    });
    assert.equal(ready, 200);

    await running.stop();
    operator = undefined;
  });

  test('helm uninstall removes the operator and its RBAC but keeps the CRD and the MarketFeed', () => {
    const r = helm(['uninstall', release, '-n', ns]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!exists(['deployment', fullname, '-n', ns]), 'operator Deployment removed');
    assert.ok(!exists(['clusterrole', fullname]), 'ClusterRole removed');
    assert.ok(!exists(['clusterrolebinding', fullname]), 'ClusterRoleBinding removed');
    assert.ok(exists(['crd', 'marketfeeds.stockify.io']), 'CRD kept');
    assert.ok(exists(['mf', 'nifty', '-n', feedNs]), 'MarketFeed kept');
  });
});
