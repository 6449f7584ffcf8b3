import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePacket } from '../../../services/ingestion/dhan/packet.ts';
import { contentSeq, DhanState } from '../../../services/ingestion/dhan/state.ts';
import { Readiness } from '../../../services/ingestion/handover.ts';
import { encodeOi, encodeQuote, type QuoteValues } from '../../integration/ingestion/dhan-encoder.ts';

const head = { segment: 'NSE_EQ', securityId: 1333 };
const LTT = 1_767_000_000;

function quote(i: number): Buffer {
  const q: QuoteValues = {
    ltp: 1650 + i / 20,
    ltq: 5,
    ltt: LTT + Math.floor(i / 4),
    atp: 1650,
    volume: 1000 + 5 * i,
    totalSell: 100,
    totalBuy: 200,
    open: 1640,
    close: 1638,
    high: 1660,
    low: 1630,
  };
  return encodeQuote(head, q);
}

const keysOf = (state: DhanState, packets: Buffer[], receivedMs: number): string[] =>
  packets.flatMap((b) => {
    const out = state.apply(decodePacket(b), receivedMs, b);
    return out?.record.payload === 'tick' ? [`${out.key}|${out.record.tick.exchangeTimeMs}|${out.record.tick.seq}`] : [];
  });

describe('handover', () => {
  test('a pod that joins mid-stream derives the same tick keys as the one it replaces, whenever it receives them', () => {
    const stream = [...Array.from({ length: 40 }, (_, i) => quote(i)), encodeOi(head, 777), quote(40)];
    const old = keysOf(new DhanState(new Map()), stream, 1_000);
    const successor = keysOf(new DhanState(new Map()), stream.slice(13), 9_999);
    assert.equal(new Set(old).size, old.length, 'distinct packets, distinct keys (4 per second here)');
    assert.deepEqual(successor, old.slice(13), 'the overlap has identical keys, so storage keeps one row each');
  });

  test('seq stays inside its exchange second: ordered by time first, the hash below 10⁶', () => {
    const t = (LTT - 19_800) * 1000;
    const s = contentSeq(t, quote(0));
    assert.ok(s >= t * 1000 && s < (t + 1000) * 1000);
    assert.equal(contentSeq(t, quote(0)), s);
    assert.notEqual(contentSeq(t, quote(1)), s);
    assert.ok(Number.isSafeInteger(contentSeq(Date.UTC(2099, 0, 1), quote(0))));
  });

  test('Ready only once the source has been live; a reconnect keeps it, a dead token or a sick publisher does not', () => {
    const r = new Readiness();
    assert.equal(r.ready('STARTING', true), false, 'connecting: the old pod must keep the shard');
    assert.equal(r.ready('CONNECTED', false), false, 'publisher unhealthy');
    assert.equal(r.ready('CONNECTED', true), true);
    assert.equal(r.ready('RECONNECTING', true), true, 'latched: nothing would stream in its place');
    assert.equal(r.ready('EXPIRED_TOKEN', true), false);
    assert.equal(new Readiness(true).ready('STARTING', true), true, 'a shard with no instruments has nothing to wait for');
    assert.equal(new Readiness().ready('RUNNING', true), true, 'simulator and replay are live once running');
  });
});
