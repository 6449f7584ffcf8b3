import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { feedStatus, type Observed, type ObservedDeployment, pausedStatus } from '../../../operator/controller/status.ts';
import type { MarketFeed, MarketFeedStatus } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';

const NOW = new Date('2026-03-02T05:00:00.000Z');
const EARLIER = '2026-03-01T00:00:00Z';

/** The 2-shard simulator sample at generation 3. */
function feed(status?: MarketFeedStatus): MarketFeed {
  const doc = parse(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
  doc.metadata.uid = 'uid-1';
  doc.metadata.generation = 3;
  return { ...parseMarketFeed(doc), ...(status ? { status } : {}) };
}

const ready: ObservedDeployment = {
  metadata: { generation: 2 },
  spec: { replicas: 2 },
  status: { observedGeneration: 2, availableReplicas: 2, updatedReplicas: 2 },
};
const rolling: ObservedDeployment = {
  metadata: { generation: 2 },
  spec: { replicas: 2 },
  status: { observedGeneration: 2, availableReplicas: 2, updatedReplicas: 1 },
};
const stale: ObservedDeployment = { ...ready, metadata: { generation: 3 } };
const scaledToZero: ObservedDeployment = {
  metadata: { generation: 1 },
  spec: { replicas: 0 },
  status: { observedGeneration: 1 },
};

/** Every Deployment of shards 0 and 1 as `d`, with `overrides` by name. */
function deployments(d: ObservedDeployment, overrides: Record<string, ObservedDeployment> = {}): Map<string, ObservedDeployment> {
  const m = new Map<string, ObservedDeployment>();
  for (const shard of [0, 1]) for (const c of ['ingestion', 'processor', 'storage']) m.set(`nifty-${c}-${shard}`, d);
  for (const [name, o] of Object.entries(overrides)) m.set(name, o);
  return m;
}

function observed(o: Partial<Observed> = {}): Observed {
  return {
    feed: feed(),
    deployments: deployments(ready),
    draining: [],
    market: { open: true, reason: 'Open' },
    boundary: undefined,
    problems: [],
    applied: 0,
    now: NOW,
    ...o,
  };
}

type Expected = { status: 'True' | 'False' | 'Unknown'; reason: string; message?: string };
const conditionIn = (s: MarketFeedStatus, type: string) => s.conditions?.find((c) => c.type === type);

const cases: { name: string; type: string; input: Partial<Observed>; expected: Expected }[] = [
  {
    name: 'every Deployment available: Ready AllShardsReady',
    type: 'Ready',
    input: {},
    expected: { status: 'True', reason: 'AllShardsReady', message: '2/2 shards ready' },
  },
  {
    name: 'a Deployment still rolling: Ready False ShardsNotReady',
    type: 'Ready',
    input: { deployments: deployments(ready, { 'nifty-storage-1': rolling }) },
    expected: { status: 'False', reason: 'ShardsNotReady', message: '1/2 shards ready' },
  },
  {
    name: 'a Deployment whose controller has not seen its generation is not ready',
    type: 'Ready',
    input: { deployments: deployments(ready, { 'nifty-processor-0': stale }) },
    expected: { status: 'False', reason: 'ShardsNotReady', message: '1/2 shards ready' },
  },
  {
    name: 'a Deployment scaled to zero on purpose counts as ready',
    type: 'Ready',
    input: { deployments: deployments(ready, { 'nifty-ingestion-0': scaledToZero, 'nifty-ingestion-1': scaledToZero }) },
    expected: { status: 'True', reason: 'AllShardsReady' },
  },
  {
    name: 'a missing Deployment: Ready False',
    type: 'Ready',
    input: { deployments: new Map() },
    expected: { status: 'False', reason: 'ShardsNotReady', message: '0/2 shards ready' },
  },
  {
    name: 'nothing written and all ready: Progressing False Complete',
    type: 'Progressing',
    input: {},
    expected: { status: 'False', reason: 'Complete', message: '2 shard(s) up to date' },
  },
  {
    name: 'an object written this reconcile: Progressing RollingOut',
    type: 'Progressing',
    input: { applied: 1 },
    expected: { status: 'True', reason: 'RollingOut', message: '2/2 shards ready' },
  },
  {
    name: 'a shard not ready: Progressing RollingOut',
    type: 'Progressing',
    input: { deployments: deployments(rolling) },
    expected: { status: 'True', reason: 'RollingOut', message: '0/2 shards ready' },
  },
  {
    name: 'a removed shard draining: Progressing Resharding, over RollingOut',
    type: 'Progressing',
    input: { applied: 3, draining: [{ index: 2 }, { index: 3, lag: 10 }] },
    expected: { status: 'True', reason: 'Resharding', message: 'draining removed shard(s) 2, 3 before deleting them' },
  },
  {
    name: 'no problems: Degraded False AsExpected',
    type: 'Degraded',
    input: {},
    expected: { status: 'False', reason: 'AsExpected', message: 'no problems found' },
  },
  {
    name: 'problems: Degraded True with the first reason and every message',
    type: 'Degraded',
    input: {
      problems: [
        { reason: 'SecretNotFound', message: 'Secret a does not exist' },
        { reason: 'KafkaUnreachable', message: 'Kafka k: timeout' },
      ],
    },
    expected: { status: 'True', reason: 'SecretNotFound', message: 'Secret a does not exist; Kafka k: timeout' },
  },
  {
    name: 'within the window: MarketOpen True Open',
    type: 'MarketOpen',
    input: {},
    expected: { status: 'True', reason: 'Open', message: 'within market hours' },
  },
  {
    name: 'no schedule: MarketOpen True AlwaysOpen',
    type: 'MarketOpen',
    input: { market: { open: true, reason: 'AlwaysOpen' } },
    expected: { status: 'True', reason: 'AlwaysOpen', message: 'no schedule: always open' },
  },
  {
    name: 'outside the window: MarketOpen False Closed',
    type: 'MarketOpen',
    input: { market: { open: false, reason: 'Closed' } },
    expected: { status: 'False', reason: 'Closed', message: 'outside market hours' },
  },
  {
    name: 'a holiday: MarketOpen False Holiday',
    type: 'MarketOpen',
    input: { market: { open: false, reason: 'Holiday' } },
    expected: { status: 'False', reason: 'Holiday', message: 'market holiday' },
  },
  {
    name: 'a schedule that cannot be evaluated: MarketOpen Unknown InvalidTimezone',
    type: 'MarketOpen',
    input: { market: undefined },
    expected: { status: 'Unknown', reason: 'InvalidTimezone', message: 'the schedule cannot be evaluated' },
  },
];

describe('MarketFeed status (pure: observed state and clock in, status out)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const condition = conditionIn(feedStatus(observed(c.input)), c.type);
      assert.ok(condition, `${c.type} is set`);
      assert.equal(condition.status, c.expected.status);
      assert.equal(condition.reason, c.expected.reason);
      if (c.expected.message !== undefined) assert.equal(condition.message, c.expected.message);
      assert.equal(condition.observedGeneration, 3);
    });
  }

  test('shards, selector, per-shard status and the next boundary are reported', () => {
    const s = feedStatus(observed({ draining: [{ index: 2, lag: 7 }], boundary: new Date('2026-03-02T10:15:00.000Z') }));
    assert.equal(s.shards, 3, 'two wanted and one still draining');
    assert.equal(s.readyShards, 2);
    assert.equal(s.selector, 'app.kubernetes.io/instance=nifty');
    assert.equal(s.observedGeneration, 3);
    assert.equal(s.nextScheduleBoundary, '2026-03-02T10:15:00Z');
    assert.deepEqual(
      s.shardStatuses?.map((x) => [x.index, x.ready, x.draining ?? false, x.lag]),
      [
        [0, true, false, undefined],
        [1, true, false, undefined],
        [2, false, true, 7],
      ],
    );
    assert.equal(
      s.shardStatuses?.reduce((n, x) => n + x.instruments, 0),
      8,
      'every instrument in a live shard',
    );
  });

  test('lastTransitionTime moves only for a condition whose status flipped', () => {
    const before = feedStatus(observed({ now: new Date(EARLIER) }));
    const after = feedStatus(observed({ feed: feed(before), problems: [{ reason: 'ApplyFailed', message: 'x' }] }));
    assert.equal(conditionIn(after, 'Ready')?.lastTransitionTime, EARLIER);
    assert.equal(conditionIn(after, 'Degraded')?.lastTransitionTime, '2026-03-02T05:00:00Z');
  });

  test('the same observation gives the same status (a second reconcile writes nothing)', () => {
    const first = feedStatus(observed());
    assert.deepEqual(feedStatus(observed({ feed: feed(first) })), first);
  });

  test('a paused feed keeps its other conditions and drops the boundary it can no longer vouch for', () => {
    const running = feedStatus(observed({ boundary: new Date('2026-03-02T10:15:00Z') }));
    const paused = pausedStatus(feed(running), NOW);
    const progressing = conditionIn(paused, 'Progressing');
    assert.equal(progressing?.reason, 'Paused');
    assert.equal(progressing?.status, 'False');
    assert.equal(conditionIn(paused, 'Ready')?.reason, 'AllShardsReady');
    assert.equal(paused.nextScheduleBoundary, undefined);
  });
});
