// The CRD's CEL rules run offline from their own strings (operator/crd/cel.ts): each one holds for a
// valid value, fails for a bad one, and a failure names the field and the rule's message.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { ruleHolds } from '../../../operator/crd/cel.ts';
import type { Rule, Schema } from '../../../operator/crd/jsonschema.ts';
import { specSchema } from '../../../operator/crd/schema.ts';
import { parseMarketFeed, SpecError } from '../../../operator/crd/validate.ts';

/** Every rule of the spec schema with the schema node it sits on. */
function rulesOf(schema: Schema, path = 'spec'): { path: string; node: Schema; rule: Rule }[] {
  const own = (schema['x-kubernetes-validations'] ?? []).map((rule) => ({ path, node: schema, rule }));
  const nested = [
    ...Object.entries(schema.properties ?? {}).map(([k, s]) => rulesOf(s, `${path}.${k}`)),
    ...(schema.items ? [rulesOf(schema.items, `${path}[]`)] : []),
  ];
  return [...own, ...nested.flat()];
}

const autoscaling = (maxReplicas: number) => ({ autoscaling: { minReplicas: 1, maxReplicas, targetCPUUtilization: 70 } });
const spec = (over: Record<string, unknown>) => ({
  shards: 2,
  kafka: { partitionsPerShard: 3 },
  processor: {},
  storage: {},
  ...over,
});

/** For each rule: a value it accepts and one it rejects. */
const CASES: Record<string, { pass: unknown; fail: unknown }> = {
  'self.minReplicas <= self.maxReplicas': {
    pass: { minReplicas: 2, maxReplicas: 2, targetCPUUtilization: 70 },
    fail: { minReplicas: 3, maxReplicas: 2, targetCPUUtilization: 70 },
  },
  "self.type != 'dhan' || has(self.dhan)": {
    pass: { type: 'dhan', dhan: { credentialsSecretRef: { name: 'creds' } } },
    fail: { type: 'dhan' },
  },
  "self.type != 'replay' || has(self.replay)": {
    pass: { type: 'replay', replay: { path: '/data/a.jsonl' } },
    fail: { type: 'replay' },
  },
  'self.from < self.to': {
    pass: { days: ['Mon'], from: '09:00', to: '15:30' },
    fail: { days: ['Mon'], from: '15:30', to: '09:00' },
  },
  '(has(self.hs256SecretRef) ? 1 : 0) + (has(self.jwksUrl) ? 1 : 0) + (self.serviceAccountIssuer ? 1 : 0) == 1': {
    pass: { serviceAccountIssuer: true },
    fail: { serviceAccountIssuer: true, jwksUrl: 'https://issuer.example.com/jwks' },
  },
  'self.shards >= 1': { pass: spec({}), fail: spec({ shards: 0 }) },
  "self.source.type != 'dhan' || self.instruments.all(i, !has(i.optionChain) || i.optionChain.expiries * (2 * i.optionChain.strikes + 1) * 2 + 1 <= 5000)":
    {
      pass: spec({ source: { type: 'dhan' }, instruments: [{}, { optionChain: { expiries: 6, strikes: 200 } }] }),
      fail: spec({ source: { type: 'dhan' }, instruments: [{}, { optionChain: { expiries: 7, strikes: 200 } }] }),
    },
  '!has(self.processor) || !has(self.processor.autoscaling) || self.processor.autoscaling.maxReplicas <= self.kafka.partitionsPerShard':
    { pass: spec({ processor: autoscaling(3) }), fail: spec({ processor: autoscaling(4) }) },
  '!has(self.storage) || !has(self.storage.autoscaling) || self.storage.autoscaling.maxReplicas <= self.kafka.partitionsPerShard':
    { pass: spec({ storage: autoscaling(3) }), fail: spec({ storage: autoscaling(4) }) },
};

describe('CEL rules of the MarketFeed CRD', () => {
  const rules = rulesOf(specSchema);

  test('every rule has a passing and a failing case here', () => {
    assert.deepEqual(
      rules.map((r) => r.rule.rule).filter((r) => !(r in CASES)),
      [],
    );
  });

  for (const { path, node, rule } of rules) {
    test(`${path}: ${rule.rule}`, () => {
      const c = CASES[rule.rule];
      assert.ok(c, 'a case exists');
      assert.equal(ruleHolds(rule.rule, node, c.pass), true, 'holds for the valid value');
      assert.equal(ruleHolds(rule.rule, node, c.fail), false, 'fails for the bad value');
    });
  }

  test('integer fields reach CEL as ints and numbers as doubles, as the API server types them', () => {
    const node: Schema = {
      description: 'x',
      type: 'object',
      properties: { n: { description: 'n', type: 'integer' }, x: { description: 'x', type: 'number' } },
    };
    assert.equal(ruleHolds('type(self.n) == int && type(self.x) == double', node, { n: 3, x: 3 }), true);
  });

  test('a rule that cannot be evaluated is an error naming the rule', () => {
    assert.throws(
      () => ruleHolds('self.missing > 1', { description: 'x', type: 'object' }, {}),
      /CEL rule "self.missing > 1" failed/,
    );
  });

  test('a failing rule in a document names the field and the rule message', () => {
    const doc = parse(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
    doc.spec.processor = { autoscaling: { minReplicas: 3, maxReplicas: 2 } };
    assert.throws(
      () => parseMarketFeed(doc),
      (err: unknown) =>
        err instanceof SpecError &&
        err.field === 'spec.processor.autoscaling.minReplicas' &&
        err.message === 'spec.processor.autoscaling.minReplicas must not exceed maxReplicas',
    );
  });

  test('the valid samples pass every rule', () => {
    for (const f of ['simulator', 'dhan', 'replay']) parseMarketFeed(parse(readFileSync(`k8s/samples/${f}.yaml`, 'utf8')));
  });
});
