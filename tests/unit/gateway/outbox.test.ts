import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Outbox } from '../../../services/gateway/outbox.ts';
import '../property-seed.ts';

const frame = (n: number, size = 100) => ({ n, size });
const opts = { highWaterBytes: 1_000, maxBehindMs: 5_000 };

describe('live back-pressure (Outbox)', () => {
  test('a client keeping up gets every update straight away', () => {
    const o = new Outbox<ReturnType<typeof frame>>(opts);
    for (let i = 0; i < 100; i++) assert.equal(o.offer('A', frame(i), 0, i), 'send');
    assert.equal(o.pendingCount, 0);
    assert.equal(o.behind, false);
  });

  test('above the high-water mark a slow client is conflated to the newest update per instrument', () => {
    const o = new Outbox<ReturnType<typeof frame>>(opts);
    for (let i = 0; i < 50; i++) assert.equal(o.offer(i % 2 ? 'A' : 'B', frame(i), 5_000, i), 'queued');
    assert.equal(o.pendingCount, 2);
    assert.equal(o.conflated, 48);
    const { frames, cut } = o.flush(0, 100);
    assert.equal(cut, false);
    assert.deepEqual(
      frames.map((f) => f.n).sort((a, b) => a - b),
      [48, 49],
    );
    assert.equal(o.behind, false);
  });

  test('while updates wait, newer ones queue behind them even when the buffer has room (order per instrument)', () => {
    const o = new Outbox<ReturnType<typeof frame>>(opts);
    assert.equal(o.offer('A', frame(1), 2_000, 0), 'queued');
    assert.equal(o.offer('B', frame(2), 0, 1), 'queued');
    assert.deepEqual(
      o.flush(0, 2).frames.map((f) => f.n),
      [1, 2],
    );
  });

  test('flush sends only what fits below the mark, the rest stays queued', () => {
    const o = new Outbox<ReturnType<typeof frame>>(opts);
    for (let i = 0; i < 20; i++) o.offer(`I${i}`, frame(i, 300), 5_000, 0);
    const { frames } = o.flush(200, 10);
    assert.equal(frames.length, 3); // 200 → 500 → 800 → 1100 stops
    assert.equal(o.pendingCount, 17);
    assert.equal(o.behind, true);
  });

  test('a client that stays behind longer than maxBehindMs is cut; one that catches up in time is not', () => {
    const slow = new Outbox<ReturnType<typeof frame>>(opts);
    slow.offer('A', frame(1), 5_000, 1_000);
    assert.equal(slow.flush(5_000, 5_999).cut, false);
    assert.equal(slow.flush(5_000, 6_001).cut, true);
    const recovering = new Outbox<ReturnType<typeof frame>>(opts);
    recovering.offer('A', frame(1), 5_000, 1_000);
    assert.equal(recovering.flush(0, 4_000).cut, false);
    recovering.offer('A', frame(2), 5_000, 7_000);
    assert.equal(recovering.flush(5_000, 11_000).cut, false, 'the clock restarts when it caught up');
  });

  test('memory per connection is bounded by its instruments, whatever the update rate (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()), { maxLength: 2_000 }), (ops) => {
        const o = new Outbox<ReturnType<typeof frame>>(opts);
        let t = 0;
        for (const [inst, full] of ops) {
          o.offer(`I${inst}`, frame(t), full ? 10_000 : 0, t++);
          assert.ok(o.pendingCount <= 10);
        }
      }),
    );
  });

  test('an unsubscribed instrument leaves the queue', () => {
    const o = new Outbox<ReturnType<typeof frame>>(opts);
    o.offer('A', frame(1), 5_000, 0);
    o.offer('B', frame(2), 5_000, 0);
    o.drop('A');
    assert.deepEqual(
      o.flush(0, 1).frames.map((f) => f.n),
      [2],
    );
  });
});
