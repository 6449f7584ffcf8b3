// Restart on demand (stockify.io/restart) and pause (stockify.io/paused-reconcile), as pure rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pausedBy } from '../../../operator/controller/pause.ts';
import {
  ANNOTATION_RESTARTED_FOR,
  maxLagOf,
  type RestartInput,
  type RestartStatus,
  type RolloutView,
  restartPlan,
  restartStep,
  rolledOut,
} from '../../../operator/controller/restart-plan.ts';

const feed = { name: 'nifty', shards: 3 };

describe('restart targets', () => {
  test('a component rolls in every shard, in shard order', () => {
    assert.deepEqual(restartPlan('processor', feed), {
      ok: true,
      deployments: ['nifty-processor-0', 'nifty-processor-1', 'nifty-processor-2'],
    });
  });

  test('a shard rolls its three components in pipeline order; shard/component one Deployment', () => {
    assert.deepEqual(restartPlan('shard-2', feed), {
      ok: true,
      deployments: ['nifty-ingestion-2', 'nifty-processor-2', 'nifty-storage-2'],
    });
    assert.deepEqual(restartPlan('shard-1/ingestion@2026-11-30T02:00:00Z', feed), {
      ok: true,
      deployments: ['nifty-ingestion-1'],
    });
  });

  test('all: every Deployment; the token after @ does not change the target', () => {
    const all = restartPlan('all@1', feed);
    assert.equal(all.ok && all.deployments.length, 9);
  });

  test('unknown targets and missing shards are refused with the reason', () => {
    for (const bad of ['gateway', 'shard-3', 'shard-x', 'shard-1/redis', '']) {
      const plan = restartPlan(bad, feed);
      assert.equal(plan.ok, false, bad);
    }
    const missing = restartPlan('shard-3', feed);
    assert.match(missing.ok ? '' : missing.message, /shard 3 does not exist \(the feed has 3\)/);
  });
});

const rolled = (request: string, over: Partial<NonNullable<RolloutView['status']>> = {}): RolloutView => ({
  metadata: { generation: 2 },
  spec: { replicas: 2, template: { metadata: { annotations: { [ANNOTATION_RESTARTED_FOR]: request } } } },
  status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2, ...over },
});

describe('rolled out', () => {
  test('only when the template carries the request and every replica is updated, available, with no old pod left', () => {
    assert.equal(rolledOut(rolled('r1'), 'r1'), true);
    assert.equal(rolledOut(rolled('r1'), 'r2'), false, 'another request');
    assert.equal(rolledOut(rolled('r1', { observedGeneration: 1 }), 'r1'), false, 'not observed yet');
    assert.equal(rolledOut(rolled('r1', { updatedReplicas: 1 }), 'r1'), false, 'one pod still old');
    assert.equal(rolledOut(rolled('r1', { availableReplicas: 1 }), 'r1'), false, 'new pod not available');
    assert.equal(rolledOut(rolled('r1', { replicas: 3 }), 'r1'), false, 'surge pod still there');
  });
});

describe('the restart state machine', () => {
  const base = (over: Partial<RestartInput>): RestartInput => ({
    request: 'processor@t1',
    previous: undefined,
    feed: { name: 'nifty', shards: 2 },
    deployments: new Map(),
    currentLag: undefined,
    maxLag: 100,
    now: '2026-11-30T03:00:00Z',
    ...over,
  });

  test('no annotation: nothing rolls and the last status stays', () => {
    const previous: RestartStatus = { request: 'x', phase: 'Complete', message: 'm' };
    assert.deepEqual(restartStep(base({ request: undefined, previous })), { status: previous, rolling: false });
  });

  test('a new request rolls its first Deployment at once', () => {
    const step = restartStep(base({}));
    assert.equal(step.roll, 'nifty-processor-0');
    assert.equal(step.status?.phase, 'Rolling');
    assert.equal(step.status?.current, 'nifty-processor-0');
    assert.deepEqual(step.status?.pending, ['nifty-processor-1']);
  });

  test('the next waits for the rollout, then for the lag, then rolls; the last completes the request', () => {
    const first = restartStep(base({})).status;
    const rolling = new Map([['nifty-processor-0', rolled('other')]]);
    const waitRollout = restartStep(base({ previous: first, deployments: rolling }));
    assert.equal(waitRollout.roll, undefined);
    assert.match(waitRollout.status?.message ?? '', /rolling nifty-processor-0/);

    const done0 = new Map([['nifty-processor-0', rolled('processor@t1')]]);
    const waitLag = restartStep(base({ previous: first, deployments: done0, currentLag: 5000 }));
    assert.equal(waitLag.roll, undefined, 'lag 5000 > 100');
    assert.match(waitLag.status?.message ?? '', /waiting for shard 0 lag 5000 to reach at most 100/);
    const unknownLag = restartStep(base({ previous: first, deployments: done0 }));
    assert.equal(unknownLag.roll, undefined, 'unknown lag holds the restart');

    const next = restartStep(base({ previous: first, deployments: done0, currentLag: 40 }));
    assert.equal(next.roll, 'nifty-processor-1');
    assert.deepEqual(next.status?.done, ['nifty-processor-0']);

    const done1 = new Map([...done0, ['nifty-processor-1', rolled('processor@t1')]]);
    const complete = restartStep(base({ previous: next.status, deployments: done1, currentLag: 0 }));
    assert.equal(complete.roll, undefined);
    assert.equal(complete.rolling, false);
    assert.equal(complete.status?.phase, 'Complete');
    assert.deepEqual(complete.status?.done, ['nifty-processor-0', 'nifty-processor-1']);
    assert.equal(complete.status?.current, undefined);

    const again = restartStep(base({ previous: complete.status, deployments: done1, currentLag: 0 }));
    assert.equal(again.roll, undefined, 'a completed request is not repeated');
    const repeat = restartStep(base({ request: 'processor@t2', previous: complete.status, deployments: done1 }));
    assert.equal(repeat.roll, 'nifty-processor-0', 'a new token is a new request');
  });

  test('an invalid request is acknowledged as Invalid and rolls nothing', () => {
    const step = restartStep(base({ request: 'shard-9' }));
    assert.equal(step.status?.phase, 'Invalid');
    assert.equal(step.roll, undefined);
  });

  test('the max lag comes from stockify.io/restart-max-lag, 1000 when absent or bad', () => {
    assert.equal(maxLagOf({ 'stockify.io/restart-max-lag': '50' }), 50);
    assert.equal(maxLagOf({ 'stockify.io/restart-max-lag': '-1' }), 1000);
    assert.equal(maxLagOf(undefined), 1000);
  });
});

describe('pause', () => {
  const f = (paused: boolean, annotations?: Record<string, string>) => ({
    metadata: { name: 'nifty', namespace: 'm', ...(annotations ? { annotations } : {}) },
    spec: { paused } as never,
  });
  test('spec.paused or the annotation "true" pauses, and the condition says which', () => {
    assert.equal(pausedBy(f(false)), undefined);
    assert.equal(pausedBy(f(true)), 'spec.paused is true');
    assert.match(
      pausedBy(f(false, { 'stockify.io/paused-reconcile': 'true' })) ?? '',
      /annotation stockify.io\/paused-reconcile/,
    );
    assert.equal(pausedBy(f(false, { 'stockify.io/paused-reconcile': 'false' })), undefined);
  });
});
