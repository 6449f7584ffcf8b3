import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../../operator/controller/clock.ts';
import { runWorkers, WorkQueue } from '../../../operator/controller/queue.ts';

describe('work queue', () => {
  test('a key added many times is queued once', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  test('a key added while processing is handed out again only after done', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('a');
    const key = await q.get();
    q.add('a');
    assert.equal(q.length, 0, 'not given to a second worker while in flight');
    q.done(key ?? '');
    assert.equal(q.length, 1);
  });

  test('failures back off exponentially up to the cap, and forget resets them', () => {
    const q = new WorkQueue({ clock: new ManualClock(), baseDelayMs: 100, maxDelayMs: 1000 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => q.addRateLimited('a')),
      [100, 200, 400, 800, 1000, 1000],
    );
    q.forget('a');
    assert.equal(q.addRateLimited('a'), 100);
  });

  test('each key backs off on its own', () => {
    const q = new WorkQueue({ clock: new ManualClock(), baseDelayMs: 100, maxDelayMs: 1000 });
    q.addRateLimited('a');
    q.addRateLimited('a');
    assert.equal(q.addRateLimited('b'), 100, 'b starts from the base delay');
    assert.equal(q.failures('a'), 2);
    q.forget('a');
    assert.equal(q.failures('a'), 0);
    assert.equal(q.failures('b'), 1);
  });

  test('a delayed key appears exactly when its time comes, and the earliest deadline wins', () => {
    const clock = new ManualClock(1000);
    const q = new WorkQueue({ clock });
    q.addAfter('a', 500);
    q.addAfter('a', 200);
    q.addAfter('a', 900);
    clock.advance(199);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1);
    clock.advance(1000);
    assert.equal(q.length, 1, 'the later deadlines were dropped');
  });

  test('workers never exceed the concurrency and a thrown error is retried with back-off', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 50 });
    let inFlight = 0;
    let maxInFlight = 0;
    const calls = new Map<string, number>();
    const errors: number[] = [];
    const running = runWorkers(
      q,
      2,
      async (key) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls.set(key, (calls.get(key) ?? 0) + 1);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        if (key === 'bad') throw new Error('boom');
        return {};
      },
      (_key, _err, delay) => errors.push(delay),
    );
    for (const k of ['a', 'b', 'c', 'd', 'bad']) q.add(k);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(maxInFlight, 2);
    assert.deepEqual(errors, [50]);
    clock.advance(50);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    assert.equal(calls.get('bad'), 2);
    assert.deepEqual(errors, [50, 100]);
    q.shutDown();
    await running;
  });

  test('requeueAfter schedules the key again at exactly that delay', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    let calls = 0;
    const running = runWorkers(q, 1, async () => {
      calls++;
      return { requeueAfterMs: 60_000 };
    });
    q.add('feed');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(calls, 1);
    clock.advance(59_999);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(calls, 1);
    clock.advance(1);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(calls, 2);
    q.shutDown();
    await running;
  });
});
