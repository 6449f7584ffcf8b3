// The Helm chart against the real tools and the real API server: lint, schema rejections,
// restricted pod security in what it renders, a server-side dry run of the rendered install, and
// k8s/base kept equal to the chart.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { chart, helm, helmBin, kubectl, kubectlBin, ok, root, run, runId } from './tools.ts';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

function template(args: string[] = []): KubeObject[] {
  const out = ok(helmBin, ['template', 'stockify-operator', chart, '--namespace', 'stockify-system', ...args]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as KubeObject)
    .filter(Boolean);
}

interface Container {
  name: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: Container[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  volumes?: Record<string, unknown>[];
}
function podSpecs(objects: KubeObject[]): { owner: string; spec: PodSpec }[] {
  return objects.flatMap((o) => {
    if (o.kind === 'Pod') return [{ owner: `Pod/${o.metadata.name}`, spec: o.spec as unknown as PodSpec }];
    const tmpl = (o.spec?.template as { spec?: PodSpec } | undefined)?.spec;
    return tmpl ? [{ owner: `${o.kind}/${o.metadata.name}`, spec: tmpl }] : [];
  });
}

describe('chart: lint and schema', () => {
  test('helm lint --strict passes with the defaults and with every optional object enabled', () => {
    for (const extra of [[], ['--set', 'serviceMonitor.enabled=true,podMonitor.enabled=true,prometheusRule.enabled=true']]) {
      const r = helm(['lint', '--strict', chart, ...extra]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  const BAD: { set: string; names: RegExp; why: string }[] = [
    { set: 'replicaCount=-1', names: /replicaCount/, why: 'negative replicas' },
    { set: 'replicaCount=0', names: /replicaCount/, why: 'no operator at all' },
    { set: 'image.pullPolicy=Sometimes', names: /pullPolicy/, why: 'not a pull policy' },
    { set: 'image.repository=', names: /repository/, why: 'empty repository' },
    { set: 'securityContext.allowPrivilegeEscalation=true', names: /allowPrivilegeEscalation/, why: 'breaks restricted PSS' },
    { set: 'podSecurityContext.runAsNonRoot=false', names: /runAsNonRoot/, why: 'breaks restricted PSS' },
    { set: 'securityContext.privileged=true', names: /privileged/, why: 'breaks restricted PSS' },
    {
      set: 'extraEnv[0].name=DHAN_ACCESS_TOKEN,extraEnv[0].value=abc',
      names: /extraEnv/,
      why: 'a secret as a literal env value',
    },
    { set: 'replicas=3', names: /replicas/, why: 'a misspelt key (replicaCount)' },
    { set: 'logLevel=verbose', names: /logLevel/, why: 'not a log level' },
    { set: 'metrics.port=70000', names: /port/, why: 'not a port' },
    { set: 'networkPolicy.apiServer.cidrs[0]=everywhere', names: /cidrs/, why: 'not a CIDR' },
    { set: 'resources.limits.memory=lots', names: /memory/, why: 'not a quantity' },
    { set: 'nodeOptions=--max-semi-space-size=16 rm -rf', names: /nodeOptions/, why: 'not Node flags only' },
  ];
  for (const bad of BAD) {
    test(`--set ${bad.set} is rejected by values.schema.json, naming the value (${bad.why})`, () => {
      const r = helm(['template', 'x', chart, '--set', bad.set]);
      assert.notEqual(r.code, 0, `helm accepted ${bad.set}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      assert.match(r.stderr, bad.names);
    });
  }

  test('a credential taken from a Secret through extraEnv is accepted', () => {
    const objects = template([
      '--set',
      'extraEnv[0].name=DHAN_ACCESS_TOKEN,extraEnv[0].valueFrom.secretKeyRef.name=dhan,extraEnv[0].valueFrom.secretKeyRef.key=token',
    ]);
    const env = podSpecs(objects)[0]?.spec.containers[0]?.env ?? [];
    assert.deepEqual(
      env.find((e) => e.name === 'DHAN_ACCESS_TOKEN'),
      { name: 'DHAN_ACCESS_TOKEN', valueFrom: { secretKeyRef: { name: 'dhan', key: 'token' } } },
    );
  });
});

describe('chart: what it renders', () => {
  const all = template(['--set', 'serviceMonitor.enabled=true,podMonitor.enabled=true,prometheusRule.enabled=true']);

  test('the defaults render the operator install: SA, RBAC, Deployment, metrics Service, PDB, NetworkPolicy, dashboard, test pod', () => {
    const kinds = template()
      .map((o) => o.kind)
      .sort();
    assert.deepEqual(kinds, [
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'Pod',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
  });

  test('the operator runs 2 replicas with leader election and its identity from the downward API', () => {
    const deploy = all.find((o) => o.kind === 'Deployment');
    assert.equal(deploy?.spec?.replicas, 2);
    const container = podSpecs([deploy as KubeObject])[0]?.spec.containers[0] as Container & { args: string[] };
    assert.deepEqual(container.args.slice(0, 2), ['operator', '--leader-elect=true']);
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
    assert.deepEqual(env.POD_NAME?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
    assert.deepEqual(env.POD_NAMESPACE?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
    assert.equal(env.STOCKIFY_IMAGE?.value, 'docker.io/stockify/stockify:0.1.0');
  });

  test('the operator container caps the young generation by NODE_OPTIONS (nodeOptions), none when it is empty', () => {
    const envOf = (objects: KubeObject[]) =>
      podSpecs(objects.filter((o) => o.kind === 'Deployment'))[0]?.spec.containers[0]?.env ?? [];
    assert.equal(envOf(all).find((e) => e.name === 'NODE_OPTIONS')?.value, '--max-semi-space-size=16');
    assert.equal(
      envOf(template(['--set', 'nodeOptions=--max-semi-space-size=8 --max-old-space-size=300'])).find(
        (e) => e.name === 'NODE_OPTIONS',
      )?.value,
      '--max-semi-space-size=8 --max-old-space-size=300',
    );
    assert.equal(
      envOf(template(['--set', 'nodeOptions='])).find((e) => e.name === 'NODE_OPTIONS'),
      undefined,
    );
  });

  test('every pod it renders meets the restricted Pod Security Standard', () => {
    const pods = podSpecs(all);
    assert.ok(pods.length >= 2);
    for (const { owner, spec } of pods) {
      assert.equal(spec.securityContext?.runAsNonRoot, true, `${owner}: runAsNonRoot`);
      assert.deepEqual(spec.securityContext?.seccompProfile, { type: 'RuntimeDefault' }, `${owner}: seccomp`);
      assert.ok(!spec.hostNetwork && !spec.hostPID, `${owner}: host namespaces`);
      for (const v of spec.volumes ?? []) assert.ok(!('hostPath' in v), `${owner}: hostPath volume`);
      for (const c of spec.containers) {
        const sc = c.securityContext ?? {};
        assert.equal(sc.allowPrivilegeEscalation, false, `${owner}/${c.name}: allowPrivilegeEscalation`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${owner}/${c.name}: readOnlyRootFilesystem`);
        assert.deepEqual((sc.capabilities as { drop?: string[] }).drop, ['ALL'], `${owner}/${c.name}: capabilities`);
      }
    }
  });

  test('no environment variable carries a literal that looks like a credential', () => {
    for (const { owner, spec } of podSpecs(all)) {
      for (const c of spec.containers) {
        for (const e of c.env ?? []) {
          if (/TOKEN|SECRET|PASSWORD|CREDENTIAL|KEY/i.test(e.name)) assert.equal(e.value, undefined, `${owner}: ${e.name}`);
          if (e.value) assert.doesNotMatch(e.value, /:\/\/[^/@\s]+:[^/@\s]+@/, `${owner}: ${e.name} holds a URL with a password`);
        }
      }
    }
  });

  test('the NetworkPolicy denies by default and opens the API server, Kafka, DNS and the metrics port', () => {
    const np = all.find((o) => o.kind === 'NetworkPolicy') as KubeObject;
    const spec = np.spec as {
      policyTypes: string[];
      ingress: { ports: { port: string | number }[] }[];
      egress: { ports: { port: number; protocol: string }[] }[];
    };
    assert.deepEqual(spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(
      spec.ingress.flatMap((r) => r.ports.map((p) => p.port)),
      ['metrics'],
    );
    const egressPorts = spec.egress.flatMap((r) => r.ports.map((p) => `${p.port}/${p.protocol}`));
    assert.deepEqual(egressPorts.sort(), ['443/TCP', '53/TCP', '53/UDP', '6443/TCP', '9092/TCP']);
  });

  test('the dashboard ConfigMap carries the grafana_dashboard label and valid dashboard JSON', () => {
    const cm = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard')) as KubeObject & {
      data: Record<string, string>;
    };
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    const dashboard = JSON.parse(cm.data['stockify.json'] ?? '') as { title: string; panels: unknown[] };
    assert.equal(dashboard.title, 'Stockify');
    assert.ok(dashboard.panels.length >= 8);
  });

  test('the PrometheusRule renders four alerting groups of valid shape with the configured market hours', () => {
    const rule = all.find((o) => o.kind === 'PrometheusRule') as KubeObject;
    const groups = (rule.spec as { groups: { rules: { alert: string; expr: string; for: string }[] }[] }).groups;
    const alerts = groups.flatMap((g) => g.rules);
    assert.ok(alerts.length >= 4);
    const disconnected = alerts.find((a) => a.alert === 'StockifyIngestionDisconnected');
    assert.match(disconnected?.expr ?? '', />= 225 and .* < 600/);
    for (const a of alerts) assert.match(a.for, /^\d+[smh]$/);
  });

  test('the helm test pod asks the operator Service for /readyz', () => {
    const pod = all.find((o) => o.kind === 'Pod') as KubeObject & {
      metadata: { annotations: Record<string, string> };
      spec: { containers: { command: string[] }[] };
    };
    assert.equal(pod.metadata.annotations['helm.sh/hook'], 'test');
    assert.match(
      pod.spec.containers[0]?.command.at(-1) ?? '',
      /^http:\/\/stockify-operator-metrics\.stockify-system\.svc:9464\/readyz$/,
    );
  });
});

describe('chart: k8s/base plain manifests', () => {
  test('k8s/base is what `make k8s-base` generates from the chart (no drift)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stockify-base-'));
    try {
      const r = run(process.execPath, [join(root, 'k8s/base/generate.mjs'), dir], undefined, { HELM: helmBin });
      assert.equal(r.code, 0, r.stderr);
      for (const file of ['kustomization.yaml', 'namespace.yaml', 'crd.yaml', 'rbac.yaml', 'deployment.yaml', 'service.yaml']) {
        assert.equal(
          readFileSync(join(root, 'k8s/base', file), 'utf8'),
          readFileSync(join(dir, file), 'utf8'),
          `k8s/base/${file} drifted from the chart; run make k8s-base`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('kubectl kustomize k8s/base renders namespace, CRD, RBAC, operator Deployment and Service', () => {
    const out = ok(kubectlBin, ['kustomize', join(root, 'k8s/base')]);
    const kinds = new Set(parseAllDocuments(out).map((d) => (d.toJS() as KubeObject).kind));
    for (const kind of [
      'Namespace',
      'CustomResourceDefinition',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'Service',
    ]) {
      assert.ok(kinds.has(kind), `k8s/base renders no ${kind}`);
    }
  });
});

describe('chart: server-side dry run against the local API server', {
  skip: !process.env.KUBECONFIG && 'KUBECONFIG unset',
}, () => {
  const ns = `stockify-chart-${runId}`;
  const feedNs = `stockify-samples-${runId}`;
  let overlay = '';

  before(async () => {
    // The CRD for real (idempotent, shared): a MarketFeed dry run needs the type registered.
    ok(kubectlBin, [
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=stockify-chart-tests',
      '-f',
      join(root, 'crds/marketfeeds.stockify.io.yaml'),
    ]);
    // Polled rather than `kubectl wait`: right after the apply the CRD has no status.conditions yet,
    // and kubectl wait then fails at once ("accessor error: <nil>") instead of waiting.
    const deadline = Date.now() + 60_000;
    const established = (): boolean =>
      kubectl([
        'get',
        'crd',
        'marketfeeds.stockify.io',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Established")].status}',
      ]).stdout.trim() === 'True';
    while (!established()) {
      if (Date.now() > deadline) assert.fail('the MarketFeed CRD did not become Established within 60 s');
      await sleep(200);
    }
    ok(kubectlBin, ['create', 'namespace', ns]);
    ok(kubectlBin, ['create', 'namespace', feedNs]);
    overlay = mkdtempSync(join(tmpdir(), 'stockify-overlay-'));
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${ns}\nresources:\n  - ${relative(overlay, join(root, 'k8s/base'))}\n`,
    );
  });

  after(() => {
    kubectl(['delete', 'namespace', ns, feedNs, '--wait=false', '--ignore-not-found']);
    if (overlay) rmSync(overlay, { recursive: true, force: true });
  });

  test('helm template output (CRD included) passes kubectl apply --dry-run=server', () => {
    const rendered = ok(helmBin, ['template', 'stockify-operator', chart, '--namespace', ns, '--include-crds']);
    const r = kubectl(['apply', '--dry-run=server', '-f', '-'], rendered);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/stockify-operator created \(server dry run\)/);
    assert.match(r.stdout, /clusterrole\.rbac\.authorization\.k8s\.io\/stockify-operator created \(server dry run\)/);
  });

  test('the k8s/base kustomization passes kubectl apply --dry-run=server (in a namespace of its own)', () => {
    const r = kubectl(['apply', '--dry-run=server', '-k', overlay]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/stockify-operator (created|configured|unchanged) \(server dry run\)/);
  });

  for (const sample of ['simulator', 'dhan', 'replay']) {
    test(`the ${sample} sample MarketFeed passes kubectl apply --dry-run=server`, () => {
      const docs = parseAllDocuments(readFileSync(join(root, `k8s/samples/${sample}.yaml`), 'utf8')).map(
        (d) => d.toJS() as KubeObject,
      );
      const feeds = docs.filter((d) => d?.kind === 'MarketFeed');
      assert.ok(feeds.length >= 1, `k8s/samples/${sample}.yaml holds a MarketFeed`);
      const yaml = docs
        .filter(Boolean)
        .map((d) => JSON.stringify({ ...d, metadata: { ...d.metadata, namespace: feedNs } }))
        .join('\n---\n');
      const r = kubectl(['apply', '--dry-run=server', '-f', '-'], yaml);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /marketfeed\.stockify\.io\/[a-z0-9-]+ created \(server dry run\)/);
    });
  }
});
