import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Corkable, WriteBatch } from '../../../services/gateway/batch.ts';

/** A socket stand-in that records cork depth and what it flushed. */
function socket() {
  const s = {
    depth: 0,
    flushes: 0,
    cork() {
      s.depth++;
    },
    uncork() {
      s.depth--;
      if (s.depth === 0) s.flushes++;
    },
  };
  return s;
}

describe('socket writes of one batch of live updates leave together (WriteBatch)', () => {
  test('a connection is corked once per batch however many updates it gets, and uncorked when the batch ends', () => {
    const due: (() => void)[] = [];
    const batch = new WriteBatch((release) => due.push(release));
    const a = socket();
    const b = socket();
    for (let i = 0; i < 5; i++) batch.hold(a);
    batch.hold(b);
    assert.equal(a.depth, 1);
    assert.equal(b.depth, 1);
    assert.equal(batch.size, 2);
    assert.equal(due.length, 1, 'one release scheduled per batch');
    due.shift()?.();
    assert.deepEqual([a.depth, a.flushes, b.depth, b.flushes], [0, 1, 0, 1]);
    assert.equal(batch.size, 0);
  });

  test('the next batch corks again and schedules its own release', () => {
    const due: (() => void)[] = [];
    const batch = new WriteBatch((release) => due.push(release));
    const a: Corkable & { depth: number; flushes: number } = socket();
    batch.hold(a);
    due.shift()?.();
    batch.hold(a);
    assert.equal(a.depth, 1);
    assert.equal(due.length, 1);
    due.shift()?.();
    assert.equal(a.flushes, 2);
  });

  test('by default the release runs on the next tick, after the synchronous batch', async () => {
    const batch = new WriteBatch();
    const a = socket();
    batch.hold(a);
    batch.hold(a);
    assert.equal(a.depth, 1);
    await new Promise((r) => process.nextTick(r));
    assert.equal(a.depth, 0);
    assert.equal(a.flushes, 1);
  });
});
