// Writes k8s/base (a kustomize base of plain manifests) from the Helm chart, so the two installs
// never drift: `helm template` with the defaults, Helm's own labels swapped for kustomize's, one
// file per concern. Run by `make k8s-base`; tests fail when the checked-in files differ.
//   usage: node k8s/base/generate.mjs [out dir]   (HELM names the helm binary; default: helm on PATH)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = resolve(process.argv[2] ?? join(root, 'k8s/base'));
const helm = process.env.HELM || 'helm';
const NAMESPACE = 'stockify-system';
const HEADER = '# Generated from charts/stockify-operator by `make k8s-base` (k8s/base/generate.mjs) — do not edit.\n';

const rendered = execFileSync(
  helm,
  [
    'template',
    'stockify-operator',
    join(root, 'charts/stockify-operator'),
    '--namespace',
    NAMESPACE,
    '--set',
    'tests.enabled=false',
    '--set',
    'dashboard.enabled=false',
  ],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
);

/** Helm's bookkeeping labels mean nothing outside a Helm release. */
function relabel(labels) {
  if (!labels) return labels;
  const { 'helm.sh/chart': _chart, ...rest } = labels;
  if ('app.kubernetes.io/managed-by' in rest) rest['app.kubernetes.io/managed-by'] = 'kustomize';
  return rest;
}

const FILES = {
  ServiceAccount: 'serviceaccount.yaml',
  ClusterRole: 'rbac.yaml',
  ClusterRoleBinding: 'rbac.yaml',
  Role: 'rbac.yaml',
  RoleBinding: 'rbac.yaml',
  Deployment: 'deployment.yaml',
  Service: 'service.yaml',
  PodDisruptionBudget: 'pdb.yaml',
  NetworkPolicy: 'networkpolicy.yaml',
};
const byFile = new Map();
for (const doc of parseAllDocuments(rendered)) {
  const obj = doc.toJS();
  if (!obj) continue;
  const file = FILES[obj.kind];
  if (!file) throw new Error(`generate.mjs: the chart renders a ${obj.kind}; give it a file in FILES`);
  obj.metadata.labels = relabel(obj.metadata.labels);
  const template = obj.spec?.template?.metadata;
  if (template) template.labels = relabel(template.labels);
  if (!byFile.has(file)) byFile.set(file, []);
  byFile.get(file).push(obj);
}

mkdirSync(out, { recursive: true });
const namespace = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: NAMESPACE,
    labels: {
      'app.kubernetes.io/part-of': 'stockify',
      // The operator passes the restricted Pod Security Standard: enforce it for its namespace.
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    },
  },
};
writeFileSync(join(out, 'namespace.yaml'), HEADER + stringify(namespace));
copyFileSync(join(root, 'crds/marketfeeds.stockify.io.yaml'), join(out, 'crd.yaml'));
const resources = ['namespace.yaml', 'crd.yaml'];
for (const file of [...new Set(Object.values(FILES))]) {
  const objs = byFile.get(file);
  if (!objs) continue;
  writeFileSync(join(out, file), HEADER + objs.map((o) => stringify(o)).join('---\n'));
  resources.push(file);
}
const kustomization = {
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  resources,
};
writeFileSync(join(out, 'kustomization.yaml'), HEADER + stringify(kustomization));
process.stdout.write(`k8s/base: ${resources.length} files in ${out}\n`);
