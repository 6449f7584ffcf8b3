import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { liveUpdate, NewestUpdates, snapshotCodec } from '../../../services/storage/live.ts';
import { bar, rec, T0, tick } from './fixtures.ts';

const update = (id: string, seq: number, timeMs: number) => {
  const u = liveUpdate(rec.tick(tick(id, seq, timeMs)));
  assert.ok(u);
  return u;
};

describe('newest live update per instrument of a batch', () => {
  test('keeps one update per instrument: the latest exchange time, then the highest seq', () => {
    const n = new NewestUpdates();
    n.offer(update('IDX_I:13', 5, T0 + 100));
    n.offer(update('IDX_I:13', 9, T0 + 50));
    n.offer(update('IDX_I:13', 7, T0 + 100));
    n.offer(update('IDX_I:13', 6, T0 + 100));
    n.offer(update('IDX_I:25', 1, T0));
    const got = new Map(n.values().map((u) => [u.id, u]));
    assert.equal(n.size, 2);
    assert.equal(got.get('IDX_I:13')?.seq, 7);
    assert.equal(got.get('IDX_I:13')?.timeMs, T0 + 100);
    assert.equal(got.get('IDX_I:25')?.seq, 1);
  });

  test('a redelivered duplicate does not replace the update already kept', () => {
    const n = new NewestUpdates();
    const a = update('IDX_I:13', 3, T0);
    n.offer(a);
    n.offer(update('IDX_I:13', 3, T0));
    assert.equal(n.values()[0], a);
  });

  test('bars make no live update; a tick snapshot encodes and decodes to the same tick', () => {
    assert.equal(liveUpdate(rec.bar(bar('IDX_I:13', T0))), undefined);
    const u = update('IDX_I:13', 4, T0 + 40);
    const back = snapshotCodec.decode(snapshotCodec.encode(u.snapshot));
    assert.equal(back.instrumentId, 'IDX_I:13');
    assert.equal(back.payload === 'tick' ? back.tick.seq : -1, 4);
  });
});
