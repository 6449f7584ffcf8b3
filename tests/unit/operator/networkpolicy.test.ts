// The feed NetworkPolicy, read by a small evaluator of the NetworkPolicy semantics: who may call
// MarketData and scrape metrics, and where the feed pods may connect to. The local CNI does not
// enforce policies, so these answers are the proof (the integration test dry-runs the same object
// against the API server and asks the same questions of what it returns).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { networkPolicy } from '../../../operator/desired/networkpolicy.ts';
import {
  allowed,
  type Endpoint,
  egressAllowed,
  inCidr,
  ingressAllowed,
  selectorMatches,
} from '../../../operator/desired/networkpolicy-eval.ts';

function feed(sample: 'dhan' | 'simulator', mutate: (spec: Record<string, unknown>) => void = () => {}): MarketFeed {
  const doc = parse(readFileSync(`k8s/samples/${sample}.yaml`, 'utf8'));
  doc.metadata.uid = 'np-uid';
  doc.metadata.namespace = 'markets';
  mutate(doc.spec);
  return parseMarketFeed(doc);
}

const pod = (namespace: string, labels: Record<string, string>, ip = '10.244.0.9'): Endpoint => ({ namespace, labels, ip });
const feedPod = (f: MarketFeed, component: string): Endpoint =>
  pod('markets', {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/instance': f.metadata.name,
    'app.kubernetes.io/managed-by': 'stockify-operator',
    'stockify.io/shard': '0',
  });
const outside = (ip: string): Endpoint => ({ namespace: '', ip });

describe('feed NetworkPolicy: ingress', () => {
  const f = feed('dhan');
  const policies = [networkPolicy(f)];
  const storage = feedPod(f, 'storage');
  const can = (from: Endpoint, port: number): boolean => ingressAllowed(policies, { from, to: storage, port });

  test('a pod labelled stockify.io/client=true in the feed namespace may call MarketData and read metrics', () => {
    const client = pod('markets', { app: 'dashboard', 'stockify.io/client': 'true' });
    assert.equal(can(client, 50051), true);
    assert.equal(can(client, 9464), true);
  });

  test('an unlabelled pod, a labelled pod of another namespace and an outside address may not', () => {
    assert.equal(can(pod('markets', { app: 'dashboard' }), 50051), false);
    assert.equal(can(pod('markets', { app: 'dashboard', 'stockify.io/client': 'false' }), 50051), false);
    assert.equal(can(pod('other', { 'stockify.io/client': 'true' }), 50051), false);
    assert.equal(can(outside('203.0.113.7'), 50051), false);
  });

  test("the feed's gateway may; another instance's gateway may not", () => {
    const gw = (instance: string) =>
      pod('markets', { 'app.kubernetes.io/name': 'gateway', 'app.kubernetes.io/instance': instance });
    assert.equal(can(gw(f.metadata.name), 50051), true);
    assert.equal(can(gw('other-feed'), 50051), false);
  });

  test('any pod of the monitoring namespace may scrape 9464; the namespace is configurable and may be none', () => {
    const prometheus = pod('monitoring', { app: 'prometheus' });
    assert.equal(can(prometheus, 9464), true);
    const custom = [networkPolicy(feed('dhan', (s) => (s.networkPolicy = { monitoringNamespace: 'observability' })))];
    assert.equal(ingressAllowed(custom, { from: prometheus, to: storage, port: 9464 }), false);
    assert.equal(ingressAllowed(custom, { from: pod('observability', { app: 'p' }), to: storage, port: 9464 }), true);
    const none = [networkPolicy(feed('dhan', (s) => (s.networkPolicy = { monitoringNamespace: '' })))];
    assert.equal(ingressAllowed(none, { from: prometheus, to: storage, port: 9464 }), false);
  });

  test('other ports of a feed pod are closed even to clients', () => {
    const client = pod('markets', { 'stockify.io/client': 'true' });
    for (const port of [22, 5432, 8080, 50052]) assert.equal(can(client, port), false, `port ${port}`);
  });

  test('the policy selects the three components only, not the gateway (which has its own)', () => {
    const gateway = pod('markets', {
      'app.kubernetes.io/name': 'gateway',
      'app.kubernetes.io/instance': f.metadata.name,
      'app.kubernetes.io/managed-by': 'stockify-operator',
    });
    const anyone = pod('other', { app: 'x' });
    assert.equal(ingressAllowed(policies, { from: anyone, to: gateway, port: 8080 }), true);
    for (const c of ['ingestion', 'processor', 'storage'])
      assert.equal(ingressAllowed(policies, { from: anyone, to: feedPod(f, c), port: 50051 }), false, c);
  });
});

describe('feed NetworkPolicy: egress', () => {
  test('to Kafka, PostgreSQL and Redis on the ports of the spec, DNS on 53, Dhan on 443 for a Dhan feed; nothing else', () => {
    const f = feed('dhan');
    const policies = [networkPolicy(f)];
    const from = feedPod(f, 'ingestion');
    const out = (port: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
      egressAllowed(policies, { from, to: outside('198.51.100.20'), port, protocol });
    assert.equal(out(9092), true, 'Kafka (kafka.kafka.svc:9092)');
    assert.equal(out(5432), true, 'PostgreSQL');
    assert.equal(out(6379), true, 'Redis (redis://redis.redis.svc:6379)');
    assert.equal(out(53, 'UDP'), true, 'DNS over UDP');
    assert.equal(out(53, 'TCP'), true, 'DNS over TCP');
    assert.equal(out(443), true, 'Dhan');
    for (const port of [80, 22, 8443, 9093]) assert.equal(out(port), false, `port ${port}`);
  });

  test('a simulator feed has no way out on 443; ports follow bootstrapServers and the Redis URL', () => {
    const f = feed('simulator', (s) => {
      s.kafka = { ...(s.kafka as object), bootstrapServers: 'b1:19092,b2:19093' };
      s.redis = { url: 'redis://cache:16379' };
    });
    const policies = [networkPolicy(f)];
    const out = (port: number) => egressAllowed(policies, { from: feedPod(f, 'storage'), to: outside('10.1.2.3'), port });
    assert.equal(out(443), false);
    assert.equal(out(19092), true);
    assert.equal(out(19093), true);
    assert.equal(out(9092), false);
    assert.equal(out(16379), true);
    assert.equal(out(6379), false);
  });

  test('CIDRs restrict a destination to its addresses; configured ports replace the derived ones', () => {
    // A Dhan feed also reaches the API server (gap Events): its CIDR too, or 443 stays open to any address.
    const f = feed('dhan', (s) => {
      s.networkPolicy = {
        egress: {
          kafka: { cidrs: ['10.96.0.0/12'] },
          dhan: { cidrs: ['203.0.113.0/24'], ports: [443, 8443] },
          apiServer: { cidrs: ['10.96.0.1/32'] },
        },
      };
    });
    const policies = [networkPolicy(f)];
    const from = feedPod(f, 'ingestion');
    const out = (ip: string, port: number) => egressAllowed(policies, { from, to: outside(ip), port });
    assert.equal(out('10.96.4.5', 9092), true);
    assert.equal(out('192.168.1.5', 9092), false);
    assert.equal(out('203.0.113.44', 8443), true);
    assert.equal(out('198.51.100.1', 443), false);
  });

  test('with auth.serviceAccountIssuer the feed pods may reach the API server (6443, or the configured ports); without, not', () => {
    const withIssuer = (apiServer?: Record<string, unknown>) =>
      feed('simulator', (s) => {
        s.auth = { serviceAccountIssuer: true };
        if (apiServer) s.networkPolicy = { egress: { apiServer } };
      });
    const out = (f: MarketFeed, port: number) =>
      egressAllowed([networkPolicy(f)], { from: feedPod(f, 'storage'), to: outside('10.96.0.1'), port });
    assert.equal(out(feed('simulator'), 6443), false);
    assert.equal(out(withIssuer(), 6443), true);
    assert.equal(out(withIssuer(), 443), true);
    const custom = withIssuer({ ports: [26443], cidrs: ['10.96.0.1/32'] });
    assert.equal(out(custom, 26443), true);
    assert.equal(out(custom, 6443), false);
    assert.equal(
      egressAllowed([networkPolicy(custom)], { from: feedPod(custom, 'storage'), to: outside('10.1.2.3'), port: 26443 }),
      false,
    );
  });

  test('a Dhan feed may reach the API server (its ingestion records gaps as Events); a simulator feed without auth may not', () => {
    const out = (f: MarketFeed, component: 'ingestion' | 'storage', port: number) =>
      egressAllowed([networkPolicy(f)], { from: feedPod(f, component), to: outside('10.96.0.1'), port });
    assert.equal(out(feed('dhan'), 'ingestion', 6443), true);
    assert.equal(out(feed('dhan'), 'ingestion', 443), true);
    assert.equal(out(feed('dhan'), 'ingestion', 8443), false);
    assert.equal(out(feed('simulator'), 'ingestion', 6443), false);
    const custom = feed('dhan', (s) => {
      s.networkPolicy = { egress: { apiServer: { ports: [26443] } } };
    });
    assert.equal(out(custom, 'ingestion', 26443), true);
    assert.equal(out(custom, 'ingestion', 6443), false);
  });

  test('a whole connection needs both ends: client → storage allowed, storage → client refused (egress)', () => {
    const f = feed('dhan');
    const policies = [networkPolicy(f)];
    const client = pod('markets', { 'stockify.io/client': 'true' });
    assert.equal(allowed(policies, { from: client, to: feedPod(f, 'storage'), port: 50051 }), true);
    assert.equal(allowed(policies, { from: feedPod(f, 'storage'), to: client, port: 50051 }), false);
  });
});

describe('the evaluator itself', () => {
  test('CIDR containment', () => {
    assert.equal(inCidr('10.0.0.1', '10.0.0.0/8'), true);
    assert.equal(inCidr('11.0.0.1', '10.0.0.0/8'), false);
    assert.equal(inCidr('1.2.3.4', '0.0.0.0/0'), true);
    assert.equal(inCidr('1.2.3.4', '1.2.3.4/32'), true);
    assert.equal(inCidr('1.2.3.5', '1.2.3.4/32'), false);
  });

  test('label selectors: matchLabels and the four matchExpressions operators', () => {
    const labels = { a: '1', b: '2' };
    assert.equal(selectorMatches({ matchLabels: { a: '1' } }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { a: '2' } }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '3'] }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, labels), true);
    assert.equal(selectorMatches({}, labels), true);
  });

  test('a pod no policy selects accepts anything', () => {
    const f = feed('dhan');
    const other = pod('markets', { app: 'unrelated' });
    assert.equal(allowed([networkPolicy(f)], { from: outside('1.1.1.1'), to: other, port: 1234 }), true);
  });
});
