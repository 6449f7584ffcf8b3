import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSubset } from '../../../operator/controller/subset.ts';

describe('desired ⊆ live (no write when nothing we manage changed)', () => {
  test('fields the API server adds do not count as a change', () => {
    const desired = { spec: { ports: [{ name: 'grpc', port: 50051 }] } };
    const live = { spec: { ports: [{ name: 'grpc', port: 50051, protocol: 'TCP' }], clusterIP: '10.96.0.10' }, status: {} };
    assert.equal(isSubset(desired, live), true);
  });

  test('a changed value we manage is a change', () => {
    assert.equal(isSubset({ spec: { replicas: 1 } }, { spec: { replicas: 3 } }), false);
  });

  test('a list with an extra or missing element is a change', () => {
    assert.equal(isSubset({ args: ['storage'] }, { args: ['storage', '--x'] }), false);
    assert.equal(isSubset({ args: ['storage', 'x'] }, { args: ['storage'] }), false);
  });

  test('a field missing from the live object is a change', () => {
    assert.equal(isSubset({ metadata: { labels: { a: '1' } } }, { metadata: {} }), false);
  });

  test('quantities and timestamps compare by value across representations', () => {
    assert.equal(isSubset({ cpu: 1 }, { cpu: '1' }), true);
    assert.equal(isSubset({ t: '2026-01-01T00:00:00Z' }, { t: new Date('2026-01-01T00:00:00Z') }), true);
  });
});
