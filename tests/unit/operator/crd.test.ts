import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { CRD_PATH, crdYaml, TYPES_PATH, typesSource } from '../../../operator/crd/generate.ts';
import type { Schema } from '../../../operator/crd/jsonschema.ts';
import { specSchema, statusSchema } from '../../../operator/crd/schema.ts';

function walk(schema: Schema, path: string, visit: (s: Schema, path: string) => void): void {
  visit(schema, path);
  for (const [k, s] of Object.entries(schema.properties ?? {})) walk(s, `${path}.${k}`, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
  if (schema.additionalProperties) walk(schema.additionalProperties, `${path}{}`, visit);
}

describe('MarketFeed CRD', () => {
  test('the checked-in CRD YAML is exactly what the generator writes', () => {
    assert.equal(readFileSync(CRD_PATH, 'utf8'), crdYaml());
  });

  test('the checked-in TypeScript types are exactly what the generator writes', () => {
    assert.equal(readFileSync(TYPES_PATH, 'utf8'), typesSource());
  });

  test('every spec and status field has a description (kubectl explain documents it)', () => {
    const missing: string[] = [];
    for (const [root, s] of [
      ['spec', specSchema],
      ['status', statusSchema],
    ] as const) {
      walk(s, root, (node, path) => {
        if (!node.description?.trim()) missing.push(path);
      });
    }
    assert.deepEqual(missing, []);
  });

  test('has the fixed names, subresources, printer columns and CEL rules', () => {
    const crd = parse(crdYaml());
    assert.equal(crd.metadata.name, 'marketfeeds.stockify.io');
    assert.deepEqual(crd.spec.names.shortNames, ['mf']);
    assert.equal(crd.spec.scope, 'Namespaced');
    const v = crd.spec.versions[0];
    assert.equal(v.name, 'v1alpha1');
    assert.deepEqual(v.subresources.scale, {
      specReplicasPath: '.spec.shards',
      statusReplicasPath: '.status.shards',
      labelSelectorPath: '.status.selector',
    });
    assert.deepEqual(
      v.additionalPrinterColumns.map((c: { name: string }) => c.name),
      ['Shards', 'Ready', 'Market', 'Age'],
    );
    const text = crdYaml();
    assert.match(text, /self\.minReplicas <= self\.maxReplicas/);
    assert.match(text, /maxReplicas <= self\.kafka\.partitionsPerShard/);
    assert.match(text, /self\.from < self\.to/);
    assert.doesNotMatch(text, /check:/, 'TypeScript twins of the CEL rules stay out of the CRD');
  });

  test('processor and storage autoscaling carry an HPA behaviour with market-open defaults', () => {
    const crd = parse(crdYaml());
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    for (const component of ['processor', 'storage']) {
      const behavior = spec[component].properties.autoscaling.properties.behavior;
      const up = behavior.properties.scaleUp.properties;
      const down = behavior.properties.scaleDown.properties;
      assert.deepEqual([up.stabilizationWindowSeconds.default, down.stabilizationWindowSeconds.default], [0, 300]);
      assert.deepEqual([down.stabilizationWindowSeconds.minimum, down.stabilizationWindowSeconds.maximum], [0, 3600]);
      assert.deepEqual(up.policies.items.properties.type.enum, ['Pods', 'Percent']);
      assert.equal(up.selectPolicy.default, 'Max');
    }
  });
});
