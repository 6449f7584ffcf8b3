import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePacket } from '../../../services/ingestion/dhan/packet.ts';
import { contentSeq, DhanState } from '../../../services/ingestion/dhan/state.ts';
import { QUIET_GRACE_MS, Readiness } from '../../../services/ingestion/handover.ts';
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

  test('Ready only once the source has been live and delivered data; a reconnect keeps it, a dead token or a sick publisher does not', () => {
    let now = 0;
    const r = new Readiness(false, () => now);
    assert.equal(r.ready('STARTING', true, false), false, 'connecting: the old pod must keep the shard');
    assert.equal(r.ready('CONNECTED', true, false), false, 'subscribed, but the exchange has sent this connection nothing yet');
    assert.equal(r.ready('CONNECTED', false, true), false, 'publisher unhealthy');
    assert.equal(r.ready('CONNECTED', true, true), true, 'data flows');
    assert.equal(r.ready('RECONNECTING', true, true), true, 'latched: nothing would stream in its place');
    assert.equal(r.ready('EXPIRED_TOKEN', true, true), false);
    const quiet = new Readiness(false, () => now);
    assert.equal(quiet.ready('CONNECTED', true, false), false);
    now += QUIET_GRACE_MS;
    assert.equal(quiet.ready('CONNECTED', true, false), true, 'a quiet market does not stall a rollout');
    assert.equal(new Readiness(true).ready('STARTING', true, false), true, 'a shard with no instruments has nothing to wait for');
  });
});
