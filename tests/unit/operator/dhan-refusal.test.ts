// Refusing what does not fit a Dhan account: CEL where the rule is local to the MarketFeed (an
// underlying with its option contracts must fit one connection), a Degraded condition with reason
// DhanBudgetExceeded where it depends on the other feeds sharing the credentials Secret; and the
// budget in use in status.dhanBudget (`kubectl get mf -o yaml`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dhanPeers } from '../../../operator/controller/dhan-account.ts';
import { dhanBudgetExceededStatus, feedStatus } from '../../../operator/controller/status.ts';
import { transitionEvents } from '../../../operator/controller/transitions.ts';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed, SpecError } from '../../../operator/crd/validate.ts';
import { DhanBudgetError, desiredObjects, dhanBudget } from '../../../operator/desired/index.ts';

const NOW = new Date('2026-03-02T05:00:00.000Z');

function doc(name: string, opts: { equities: number; chain?: [number, number]; source?: 'dhan' | 'simulator'; secret?: string }) {
  return {
    apiVersion: 'stockify.io/v1alpha1',
    kind: 'MarketFeed',
    metadata: { name, namespace: 'markets', generation: 2, uid: `uid-${name}` },
    spec: {
      shards: 4,
      source:
        (opts.source ?? 'dhan') === 'dhan'
          ? { type: 'dhan', dhan: { credentialsSecretRef: { name: opts.secret ?? 'dhan-creds' } } }
          : { type: 'simulator' },
      instruments: [
        ...Array.from({ length: opts.equities }, (_, i) => ({
          symbol: `EQ${i}`,
          securityId: String(300_000 + i),
          segment: 'NSE_EQ',
        })),
        ...(opts.chain
          ? [
              {
                symbol: 'NIFTY',
                securityId: '13',
                segment: 'IDX_I',
                optionChain: { expiries: opts.chain[0], strikes: opts.chain[1] },
              },
            ]
          : []),
      ],
      kafka: { bootstrapServers: 'kafka:9092' },
      postgres: { secretRef: { name: 'pg' } },
      redis: { url: 'redis://redis:6379' },
    },
  };
}

const withCreated = (feed: MarketFeed, at: string): MarketFeed & { metadata: { creationTimestamp: string } } => ({
  ...feed,
  metadata: { ...feed.metadata, creationTimestamp: at },
});

describe('Dhan budget refusal', () => {
  test('CEL: an underlying whose option contracts exceed one connection is refused naming the limit (Dhan only)', () => {
    assert.throws(
      () => parseMarketFeed(doc('big', { equities: 1, chain: [12, 200] })),
      (err: unknown) =>
        err instanceof SpecError &&
        /spec\.instruments/.test(err.message) &&
        /must fit one Dhan connection \(5,000 instruments\)/.test(err.message),
    );
    // 6 × (2 × 200 + 1) × 2 + 1 = 4,813 fits; 7 expiries (5,615) do not.
    assert.doesNotThrow(() => parseMarketFeed(doc('fits', { equities: 1, chain: [6, 200] })));
    assert.throws(() => parseMarketFeed(doc('seven', { equities: 1, chain: [7, 200] })), SpecError);
    assert.doesNotThrow(() => parseMarketFeed(doc('sim', { equities: 1, chain: [12, 200], source: 'simulator' })));
  });

  test('render: a feed too big for one account alone is a spec error naming the account limit', () => {
    const feed = parseMarketFeed(doc('huge', { equities: 19_999, chain: [1, 1] }));
    assert.throws(
      () => desiredObjects(feed),
      (err: unknown) => err instanceof DhanBudgetError && /4 connections × 5,000 instruments/.test(err.message),
    );
  });

  test('a newer feed that does not fit beside an older one on the same Secret: Degraded DhanBudgetExceeded, with a Warning event', () => {
    const old = withCreated(parseMarketFeed(doc('old', { equities: 11_000 })), '2026-01-01T00:00:00Z');
    const fresh = withCreated(parseMarketFeed(doc('fresh', { equities: 6_000 })), '2026-02-01T00:00:00Z');
    const other = withCreated(
      parseMarketFeed(doc('other', { equities: 6_000, secret: 'second-account' })),
      '2026-01-15T00:00:00Z',
    );
    const informer = { list: () => [old, fresh, other] };
    const peers = dhanPeers(informer, fresh);
    assert.deepEqual(peers.map((p) => p.metadata.name).sort(), ['old', 'other']);
    const plan = dhanBudget(fresh, peers);
    assert.ok(plan && !plan.ok);
    assert.equal(plan.limit, 'connections');
    assert.match(plan.message, /Secret markets\/dhan-creds/);
    assert.match(plan.message, /3 held by old \(3\)/);

    const status = dhanBudgetExceededStatus(fresh, plan.message, NOW);
    const degraded = status.conditions?.find((c) => c.type === 'Degraded');
    assert.equal(degraded?.status, 'True');
    assert.equal(degraded?.reason, 'DhanBudgetExceeded');
    assert.equal(degraded?.message, plan.message);
    const events = transitionEvents(fresh, undefined, status);
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'DhanBudgetExceeded'));

    // The older feed is planned as if the newer one were absent; the other account is its own.
    const oldPlan = dhanBudget(old, dhanPeers(informer, old));
    assert.ok(oldPlan?.ok && oldPlan.budget.connections === 3);
    assert.ok(dhanBudget(other, dhanPeers(informer, other))?.ok);
  });

  test('status.dhanBudget shows the budget in use, and goes away when the feed leaves Dhan', () => {
    const feed = parseMarketFeed(doc('nifty', { equities: 6_000, chain: [2, 10] }));
    const plan = dhanBudget(feed);
    assert.ok(plan?.ok);
    const observed = {
      feed,
      deployments: new Map(),
      draining: [],
      market: undefined,
      boundary: undefined,
      problems: [],
      applied: 0,
      now: NOW,
    };
    const status = feedStatus({ ...observed, dhanBudget: plan.budget });
    assert.deepEqual(
      { ...status.dhanBudget, shards: undefined },
      {
        secret: 'dhan-creds',
        connections: 2,
        accountConnections: 2,
        connectionLimit: 5,
        spareConnections: 1,
        subscriptions: 6_001 + 2 * 21 * 2,
        optionContracts: 84,
        capacity: 10_000,
        chainRequestMilliseconds: 4_000,
        chainSlots: 2,
        chainCycle: 2,
        shards: undefined,
      },
    );
    assert.equal(
      status.dhanBudget?.shards?.reduce((n, s) => n + s.connections, 0),
      2,
    );
    assert.equal(
      status.dhanBudget?.shards?.reduce((n, s) => n + (s.subscriptions ?? 0), 0),
      6_085,
    );
    const sim = parseMarketFeed(doc('nifty', { equities: 10, source: 'simulator' }));
    const after = feedStatus({ ...observed, feed: { ...sim, status } });
    assert.equal(after.dhanBudget, undefined);
  });
});
