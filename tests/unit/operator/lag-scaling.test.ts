// Scaling on lag: the operator raises each HPA's minReplicas to ceil(lag / lagPerReplica), never
// above the topic's partitions, and leaves it at minReplicas when the lag is unknown.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { lastLag } from '../../../operator/controller/lag.ts';
import { feedStatus } from '../../../operator/controller/status.ts';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { hpa, replicasForLag } from '../../../operator/desired/hpa.ts';
import { desiredObjects } from '../../../operator/desired/index.ts';

function feed(auto: Record<string, unknown> = {}, partitions = 3): MarketFeed {
  const doc = parse(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
  doc.metadata.uid = 'lag-uid';
  doc.metadata.namespace = 'markets';
  doc.spec.kafka.partitionsPerShard = partitions;
  doc.spec.processor = { autoscaling: { minReplicas: 1, maxReplicas: partitions, ...auto } };
  doc.spec.storage = { autoscaling: { minReplicas: 1, maxReplicas: partitions, ...auto } };
  delete doc.spec.schedule;
  return parseMarketFeed(doc);
}

describe('replicasForLag', () => {
  test('ceil(lag / lagPerReplica) within [floor, max]', () => {
    assert.equal(replicasForLag(0, 1000, 1, 6), 1);
    assert.equal(replicasForLag(1000, 1000, 1, 6), 1);
    assert.equal(replicasForLag(1001, 1000, 1, 6), 2);
    assert.equal(replicasForLag(4500, 1000, 1, 6), 5);
    assert.equal(replicasForLag(10_000_000, 1000, 1, 6), 6, 'never above max');
    assert.equal(replicasForLag(10, 1000, 2, 6), 2, 'never below the floor');
  });

  test('unknown lag or lagPerReplica 0: the configured floor (CPU alone)', () => {
    assert.equal(replicasForLag(undefined, 1000, 2, 6), 2);
    assert.equal(replicasForLag(1e9, 0, 2, 6), 2);
  });
});

describe('HPA floor from lag', () => {
  test('lagPerReplica defaults to 5000 messages', () => {
    assert.equal(feed().spec.processor.autoscaling?.lagPerReplica, 5000);
  });

  test("a lagging processor's HPA gets a higher minReplicas; CPU stays its metric", () => {
    const h = hpa(feed({ lagPerReplica: 100 }, 6), 'processor', 0, true, 350);
    assert.equal(h?.spec.minReplicas, 4);
    assert.equal(h?.spec.maxReplicas, 6);
    assert.equal(h?.spec.metrics?.[0]?.resource?.name, 'cpu');
  });

  test("never above the topic's partitions even when maxReplicas would allow more", () => {
    const f = feed({ lagPerReplica: 1 }, 3);
    const h = hpa(f, 'storage', 0, true, 1_000_000);
    assert.equal(h?.spec.minReplicas, 3);
    assert.equal(h?.spec.maxReplicas, 3);
  });

  test('the lag of each Deployment reaches its own HPA through desiredObjects', () => {
    const f = feed({ lagPerReplica: 100 }, 3);
    const lag = new Map([
      ['nifty-processor-0', 250],
      ['nifty-storage-0', 0],
    ]);
    const hpas = desiredObjects(f, { lag }).filter((o) => o.kind === 'HorizontalPodAutoscaler');
    const min = Object.fromEntries(
      hpas.map((h) => [h.metadata.name, h.kind === 'HorizontalPodAutoscaler' ? h.spec.minReplicas : 0]),
    );
    assert.equal(min['nifty-processor-0'], 3);
    assert.equal(min['nifty-storage-0'], 1);
    const unmeasured = desiredObjects(f).filter((o) => o.kind === 'HorizontalPodAutoscaler');
    for (const h of unmeasured) if (h.kind === 'HorizontalPodAutoscaler') assert.equal(h.spec.minReplicas, 1, 'fallback');
  });

  test('status shows each group lag per shard when measured, nothing when not', () => {
    const f = feed();
    const base = {
      feed: f,
      deployments: new Map(),
      draining: [],
      market: undefined,
      boundary: undefined,
      problems: [],
      applied: 0,
      now: new Date('2026-11-30T03:00:00Z'),
    };
    const measured = feedStatus({ ...base, lag: new Map([[0, { processor: 12, storage: 30 }]]) });
    assert.deepEqual(
      measured.shardStatuses?.map((s) => [s.lag, s.processorLag, s.storageLag]),
      [
        [42, 12, 30],
        [undefined, undefined, undefined],
      ],
    );
    const unmeasured = feedStatus(base);
    assert.equal(unmeasured.shardStatuses?.[0]?.lag, undefined);
  });

  test('an unmeasurable lag keeps the last measured in the status (no flapping write), none once lag scaling is off', () => {
    const f = feed({ lagPerReplica: 100 });
    const withStatus = {
      ...f,
      status: {
        shardStatuses: [
          { index: 0, instruments: 3, ready: true, lag: 7, processorLag: 5, storageLag: 2 },
          { index: 3, instruments: 0, ready: false, draining: true, lag: 9 },
        ],
      },
    } as MarketFeed;
    assert.deepEqual([...(lastLag(withStatus) ?? [])], [[0, { processor: 5, storage: 2 }]]);
    const off = feed({ lagPerReplica: 0 });
    assert.equal(lastLag({ ...off, status: withStatus.status } as MarketFeed), undefined);
  });
});
