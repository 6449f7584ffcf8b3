// Sized resources: every container gets its component's measured defaults (a memory limit always),
// and the MarketFeed overrides them key by key.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { desiredObjects } from '../../../operator/desired/index.ts';
import { containerResources, DEFAULT_RESOURCES, quantityValue } from '../../../operator/desired/resources.ts';

type Container = { name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } };
type Workload = { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: Container[] } } } };

function containers(mutate: (spec: Record<string, unknown>) => void = () => {}): Map<string, Container> {
  const doc = parse(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
  doc.metadata.uid = 'res-uid';
  doc.metadata.namespace = 'markets';
  doc.spec.gateway = {};
  mutate(doc.spec);
  const objects = desiredObjects(parseMarketFeed(doc), { marketOpen: true }) as unknown as Workload[];
  const out = new Map<string, Container>();
  for (const o of objects.filter((x) => x.kind === 'Deployment')) {
    for (const c of o.spec.template.spec.containers) out.set(o.metadata.name, c);
  }
  return out;
}

describe('container resources', () => {
  test('quantities read as base units', () => {
    assert.equal(quantityValue('512Mi'), 512 * 2 ** 20);
    assert.equal(quantityValue('1Gi'), 2 ** 30);
    assert.equal(quantityValue('1G'), 1e9);
    assert.equal(quantityValue('100m'), 0.1);
    assert.equal(quantityValue(2), 2);
    assert.ok(Number.isNaN(quantityValue('lots')));
  });

  test('every container of a feed has a memory request and a memory limit at least its request, and no CPU limit', () => {
    const all = containers();
    assert.ok(all.size >= 4, `deployments: ${[...all.keys()].join(', ')}`);
    for (const [name, c] of all) {
      const memReq = c.resources?.requests?.memory;
      const memLim = c.resources?.limits?.memory;
      assert.ok(memReq && memLim, `${name} has a memory request and limit: ${JSON.stringify(c.resources)}`);
      assert.ok(quantityValue(memLim) >= quantityValue(memReq), `${name}: limit ${memLim} ≥ request ${memReq}`);
      assert.equal(c.resources?.limits?.cpu, undefined, `${name}: no CPU limit`);
      assert.equal(c.resources?.requests?.cpu, '100m', `${name}: CPU request unchanged`);
    }
  });

  test('each component gets its own defaults', () => {
    const all = containers();
    const of = (prefix: string) => [...all.entries()].find(([n]) => n.includes(prefix))?.[1];
    for (const component of ['ingestion', 'processor', 'storage', 'gateway'] as const) {
      assert.deepEqual(of(`-${component}`)?.resources, DEFAULT_RESOURCES[component], component);
    }
  });

  test('the MarketFeed overrides key by key; the memory limit stays set', () => {
    const all = containers((spec) => {
      spec.processor = { resources: { requests: { cpu: '150m', memory: '128Mi' } } };
      spec.storage = { resources: { limits: { memory: '2Gi', cpu: 2 } } };
    });
    const processor = [...all.entries()].find(([n]) => n.includes('-processor-'))?.[1];
    assert.deepEqual(processor?.resources, {
      requests: { cpu: '150m', memory: '128Mi' },
      limits: DEFAULT_RESOURCES.processor.limits,
    });
    const storage = [...all.entries()].find(([n]) => n.includes('-storage-'))?.[1];
    assert.deepEqual(storage?.resources, {
      requests: DEFAULT_RESOURCES.storage.requests,
      limits: { memory: '2Gi', cpu: '2' },
    });
  });

  test('a memory request above the default limit raises the limit; a limit below the default request lowers the request', () => {
    assert.deepEqual(containerResources('processor', { requests: { memory: '4Gi' } }).limits, { memory: '4Gi' });
    assert.deepEqual(containerResources('storage', { limits: { memory: '64Mi' } }).requests, { cpu: '100m', memory: '64Mi' });
    // Both set by the user: theirs as given (the API server says what is wrong).
    assert.deepEqual(containerResources('processor', { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }), {
      requests: { cpu: '100m', memory: '2Gi' },
      limits: { memory: '1Gi' },
    });
  });
});
