// The rollout gate's decision: at most one connection-holding Dhan ingestion Deployment of an
// account rolls at a time (rollout-gate.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type GateCandidate,
  gateRollouts,
  heldMessage,
  isRolling,
  type RolloutStatusView,
} from '../../../operator/controller/rollout-gate.ts';

const done = (replicas = 1, generation = 2): RolloutStatusView => ({
  metadata: { generation },
  spec: { replicas },
  status: { observedGeneration: generation, replicas, updatedReplicas: replicas },
});

describe('isRolling', () => {
  const cases: [string, RolloutStatusView | undefined, boolean][] = [
    ['absent', undefined, false],
    ['rolled out', done(), false],
    ['not yet observed by the controller', { ...done(), status: { ...done().status, observedGeneration: 1 } }, true],
    ['new pod not yet created', { ...done(), status: { ...done().status, updatedReplicas: 0 } }, true],
    ['surge pod beside the old one', { ...done(), status: { ...done().status, replicas: 2 } }, true],
    ['old pod terminating', { ...done(), status: { ...done().status, terminatingReplicas: 1 } }, true],
    ['updated but not available (crash loop) is not rolling', done(), false],
    ['scaled to zero, nothing left', done(0), false],
    ['scaled to zero, a pod still counted', { ...done(0), status: { ...done(0).status, replicas: 1 } }, true],
    ['never observed (no status)', { metadata: { generation: 1 }, spec: { replicas: 1 } }, true],
  ];
  for (const [name, d, want] of cases) test(name, () => assert.equal(isRolling(d), want));
});

describe('gateRollouts', () => {
  const changed = (name: string): GateCandidate => ({ name, exists: true, templateChanged: true });
  const rolling = { ...done(), status: { ...done().status, replicas: 2 } };
  const cases: {
    name: string;
    candidates: GateCandidate[];
    holders: Record<string, RolloutStatusView>;
    released?: string[];
    held: string[];
    release?: string;
    rolling: string[];
  }[] = [
    {
      name: 'nothing rolling: the first changed one rolls, the others wait',
      candidates: [changed('f-ingestion-0'), changed('f-ingestion-1'), changed('f-ingestion-2')],
      holders: { 'f-ingestion-0': done(), 'f-ingestion-1': done(), 'f-ingestion-2': done() },
      held: ['f-ingestion-1', 'f-ingestion-2'],
      release: 'f-ingestion-0',
      rolling: [],
    },
    {
      name: 'one rolling: every other changed one waits',
      candidates: [changed('f-ingestion-1'), changed('f-ingestion-2')],
      holders: { 'f-ingestion-0': rolling, 'f-ingestion-1': done(), 'f-ingestion-2': done() },
      held: ['f-ingestion-1', 'f-ingestion-2'],
      rolling: ['f-ingestion-0'],
    },
    {
      name: 'the rolling one changed again may apply (still one surge pod)',
      candidates: [changed('f-ingestion-0'), changed('f-ingestion-1')],
      holders: { 'f-ingestion-0': rolling, 'f-ingestion-1': done() },
      held: ['f-ingestion-1'],
      rolling: ['f-ingestion-0'],
    },
    {
      name: "another feed's holder on the account rolling holds this feed",
      candidates: [changed('f-ingestion-0')],
      holders: { 'f-ingestion-0': done(), 'g-ingestion-3': rolling },
      held: ['f-ingestion-0'],
      rolling: ['g-ingestion-3'],
    },
    {
      name: 'released but not yet seen rolling in the cache counts as rolling',
      candidates: [changed('f-ingestion-1')],
      holders: { 'f-ingestion-0': done(), 'f-ingestion-1': done() },
      released: ['f-ingestion-0'],
      held: ['f-ingestion-1'],
      rolling: ['f-ingestion-0'],
    },
    {
      name: 'new Deployments (scale-out) and unchanged templates are never held',
      candidates: [
        { name: 'f-ingestion-0', exists: true, templateChanged: false },
        { name: 'f-ingestion-3', exists: false, templateChanged: true },
      ],
      holders: { 'f-ingestion-0': rolling },
      held: [],
      rolling: ['f-ingestion-0'],
    },
    {
      name: 'nothing changed, nothing rolling',
      candidates: [{ name: 'f-ingestion-0', exists: true, templateChanged: false }],
      holders: { 'f-ingestion-0': done() },
      held: [],
      rolling: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = gateRollouts({
        candidates: c.candidates,
        holders: new Map(Object.entries(c.holders)),
        ...(c.released ? { released: new Set(c.released) } : {}),
      });
      assert.deepEqual(got, { held: c.held, rolling: c.rolling, ...(c.release ? { release: c.release } : {}) });
    });
  }

  test('the message names what the held ones wait for', () => {
    assert.equal(
      heldMessage({ held: ['f-ingestion-1'], rolling: ['f-ingestion-0'] }),
      'waiting for f-ingestion-0 to finish rolling: one spare Dhan connection per account (held: f-ingestion-1)',
    );
    assert.equal(
      heldMessage({ held: ['f-ingestion-2'], rolling: [], release: 'f-ingestion-1' }),
      'waiting for f-ingestion-1 to finish rolling: one spare Dhan connection per account (held: f-ingestion-2)',
    );
    assert.equal(heldMessage({ held: [], rolling: ['f-ingestion-0'] }), undefined);
  });
});
