// Least privilege, checked against the code: the operator's Kubernetes API calls are collected
// from its sources, mapped to (API group, resource, verb), and must equal the rules the install
// grants (k8s/base/rbac.yaml, which `make k8s-base` renders from the chart; a drift test keeps the
// two equal). A new API call without a rule fails here, and so does a rule nothing uses.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { FEED_KIND, OWNED_KINDS, type OwnedKind } from '../../../operator/controller/informers.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { desiredObjects } from '../../../operator/desired/index.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Permission {
  group: string;
  resource: string;
  verb: string;
}
const key = (p: Permission): string => `${p.group || 'core'}/${p.resource}:${p.verb}`;

function resourceOf(kind: OwnedKind): { group: string; resource: string } {
  const group = kind.apiVersion.includes('/') ? (kind.apiVersion.split('/')[0] ?? '') : '';
  return { group, resource: kind.path.slice(kind.path.lastIndexOf('/') + 1) };
}
const owned = OWNED_KINDS.map(resourceOf);
const feeds = resourceOf(FEED_KIND);

/** Resource of a kind the builders emit: the informer's path when watched, else the regular plural. */
function resourceOfKind(apiVersion: string, kind: string): { group: string; resource: string } {
  const known = OWNED_KINDS.find((k) => k.kind === kind);
  if (known) return resourceOf(known);
  const lower = kind.toLowerCase();
  const plural = lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : lower.endsWith('s') ? `${lower}es` : `${lower}s`;
  return { group: apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '', resource: plural };
}

/** Every kind the pure builders produce for the sample MarketFeeds: what server-side apply patches. */
function builtKinds(): { group: string; resource: string }[] {
  const out = new Map<string, { group: string; resource: string }>();
  for (const sample of ['simulator', 'dhan', 'replay']) {
    const doc = parse(readFileSync(join(root, `k8s/samples/${sample}.yaml`), 'utf8'));
    doc.metadata.uid = 'rbac-test-uid';
    for (const o of desiredObjects(parseMarketFeed(doc))) {
      const r = resourceOfKind(o.apiVersion, o.kind);
      out.set(`${r.group}/${r.resource}`, r);
    }
  }
  return [...out.values()];
}
const applied = builtKinds();
const on = (targets: { group: string; resource: string }[], verb: string): Permission[] => targets.map((t) => ({ ...t, verb }));

/** What each client-node call the operator makes needs. Unknown calls fail the test. */
const CALLS: Record<string, () => Permission[]> = {
  // Informers list through KubernetesObjectApi or as plain JSON (RawApi.get) and watch through makeInformer.
  'objects.list': () => on([feeds, ...owned], 'list'),
  'raw.get': () => on([feeds, ...owned], 'list'),
  makeInformer: () => on([feeds, ...owned], 'watch'),
  // Server-side apply (and the drain merge patch) of the objects the builders produce. An apply
  // that finds no object creates it, and the API server authorizes that as create too.
  'objects.patch': () => [...on([...owned, ...applied], 'patch'), ...on([...owned, ...applied], 'create')],
  'raw.apply': () => [...on([...owned, ...applied], 'patch'), ...on([...owned, ...applied], 'create')],
  'objects.delete': () => on(owned, 'delete'),
  'custom.patchNamespacedCustomObject': () => on([feeds], 'patch'),
  'custom.patchNamespacedCustomObjectStatus': () => on([{ ...feeds, resource: `${feeds.resource}/status` }], 'patch'),
  'core.readNamespacedSecret': () => on([{ group: '', resource: 'secrets' }], 'get'),
  'core.createNamespacedEvent': () => on([{ group: '', resource: 'events' }], 'create'),
  'coordination.readNamespacedLease': () => on([{ group: 'coordination.k8s.io', resource: 'leases' }], 'get'),
  'coordination.createNamespacedLease': () => on([{ group: 'coordination.k8s.io', resource: 'leases' }], 'create'),
  'coordination.replaceNamespacedLease': () => on([{ group: 'coordination.k8s.io', resource: 'leases' }], 'update'),
};

function operatorSources(): { file: string; text: string }[] {
  return readdirSync(join(root, 'operator'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: `operator/${f}`, text: readFileSync(join(root, 'operator', f), 'utf8') }));
}

function neededPermissions(): { needed: Map<string, Permission>; unknown: string[] } {
  const needed = new Map<string, Permission>();
  const unknown: string[] = [];
  const add = (ps: Permission[]): void => {
    for (const p of ps) needed.set(key(p), p);
  };
  for (const { file, text } of operatorSources()) {
    // Clients are reached as `<…>kube.<client>.<method>(` or destructured: `const { coordination } = this.o.kube;`.
    const destructured = [...text.matchAll(/const \{([\w\s,]+)\} = [\w.]*kube\b/g)].flatMap((m) =>
      (m[1] ?? '').split(',').map((n) => n.trim()),
    );
    const clients = ['objects', 'raw', 'custom', 'core', 'coordination'];
    const direct = [
      ...text.matchAll(/\bkube\.(objects|raw|custom|core|coordination)\.([a-zA-Z]+)(?:<(?:[^<>()]|<[^<>()]*>)*>)?\(/g),
    ];
    const viaLocal = destructured
      .filter((n) => clients.includes(n))
      .flatMap((n) => [...text.matchAll(new RegExp(`(?<![.\\w])${n}\\.([a-zA-Z]+)\\(`, 'g'))].map((m) => [m[0], n, m[1]]));
    for (const m of [...direct, ...viaLocal]) {
      const call = `${m[1]}.${m[2]}`;
      const permissions = CALLS[call];
      if (permissions) add(permissions());
      else unknown.push(`${file}: ${call}`);
    }
    if (/\bmakeInformer\b[^(]*\(/.test(text)) add(CALLS.makeInformer?.() ?? []);
    // The OwnerReferencesPermissionEnforcement admission plugin: setting blockOwnerDeletion on an
    // owner reference needs update on the owner's finalizers subresource.
    if (/blockOwnerDeletion:\s*true/.test(text)) add(on([{ ...feeds, resource: `${feeds.resource}/finalizers` }], 'update'));
  }
  return { needed, unknown };
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
}

function installed(): RbacObject[] {
  return parseAllDocuments(readFileSync(join(root, 'k8s/base/rbac.yaml'), 'utf8')).map((d) => d.toJS() as RbacObject);
}

function granted(obj: RbacObject | undefined): Map<string, Permission & { resourceNames?: string[] }> {
  const out = new Map<string, Permission & { resourceNames?: string[] }>();
  for (const rule of obj?.rules ?? []) {
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs) {
          const p = { group, resource, verb, ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}) };
          out.set(key(p), p);
        }
  }
  return out;
}

describe('operator RBAC is exactly what the operator calls', () => {
  const { needed, unknown } = neededPermissions();
  const objects = installed();
  const clusterRole = objects.find((o) => o.kind === 'ClusterRole');
  const role = objects.find((o) => o.kind === 'Role');

  test('every Kubernetes API call in operator/ has a known permission mapping', () => {
    assert.deepEqual(unknown, [], `map these calls in CALLS (tests/unit/chart/rbac.test.ts): ${unknown.join('; ')}`);
    assert.ok(needed.size >= 10, `found only ${needed.size} permissions; the source scan is broken`);
  });

  test('the ClusterRole grants every cluster-wide permission the code needs and nothing more', () => {
    const want = [...needed.values()]
      .filter((p) => p.resource !== 'leases')
      .map(key)
      .sort();
    const have = [...granted(clusterRole).keys()].sort();
    assert.deepEqual(have, want);
  });

  test('leader election is granted only in the release namespace, get and update only on the operator Lease', () => {
    const leases = [...needed.values()].filter((p) => p.resource === 'leases');
    const roleGrants = granted(role);
    assert.deepEqual([...roleGrants.keys()].sort(), leases.map(key).sort());
    const leaderSource = readFileSync(join(root, 'operator/controller/leader.ts'), 'utf8');
    const defaultLease = /name:\s*'([a-z0-9-]+)'/.exec(leaderSource)?.[1];
    assert.ok(defaultLease, 'leader.ts names a default Lease');
    for (const verb of ['get', 'update']) {
      const grant = roleGrants.get(`coordination.k8s.io/leases:${verb}`);
      assert.deepEqual(grant?.resourceNames, [defaultLease], `leases ${verb} is limited to the Lease ${defaultLease}`);
    }
  });

  test('Secrets are readable one by name only: no list or watch that would expose every Secret', () => {
    const secretVerbs = [...granted(clusterRole).values()].filter((p) => p.resource === 'secrets').map((p) => p.verb);
    assert.deepEqual(secretVerbs, ['get']);
  });

  test('no wildcard anywhere', () => {
    for (const obj of [clusterRole, role]) {
      for (const rule of obj?.rules ?? []) {
        assert.ok(![...rule.apiGroups, ...rule.resources, ...rule.verbs].includes('*'), `${obj?.kind} has a wildcard rule`);
      }
    }
  });
});
