import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pinnedVersions } from './env.ts';

// helm comes from PATH (infra/with-infra.sh puts the cached build there).
const helm = (...args: string[]) => execFileSync('helm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const dir = mkdtempSync(join(tmpdir(), 'stockify-helm-'));
const chart = join(dir, 'tiny');
mkdirSync(join(chart, 'templates'), { recursive: true });
writeFileSync(
  join(chart, 'Chart.yaml'),
  'apiVersion: v2\nname: tiny\ndescription: infra test chart\nversion: 0.1.0\nappVersion: "1.0"\nkubeVersion: ">=1.32.0-0"\n',
);
writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\nreplicas: 1\n');
writeFileSync(
  join(chart, 'templates', 'configmap.yaml'),
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}-tiny',
    '  labels:',
    '    app.kubernetes.io/instance: {{ .Release.Name }}',
    'data:',
    '  greeting: {{ .Values.greeting | quote }}',
    '  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}',
    '',
  ].join('\n'),
);

after(() => rmSync(dir, { recursive: true, force: true }));

test('helm is the pinned version', () => {
  assert.equal(helm('version', '--template', '{{ .Version }}').trim(), pinnedVersions().HELM_VERSION);
});

test('helm lint accepts the chart', () => {
  assert.match(helm('lint', '--strict', chart), /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('helm template renders values and targets the local Kubernetes version', () => {
  const out = helm('template', 'demo', chart, '--set', 'greeting=namaste');
  assert.match(out, /name: demo-tiny/);
  assert.match(out, /greeting: "namaste"/);
  const minor = pinnedVersions().KUBE_VERSION?.split('.').slice(0, 2).join('.');
  assert.match(out, new RegExp(`kubeVersion: "${minor?.replace('.', '\\.')}\\.`));
});
