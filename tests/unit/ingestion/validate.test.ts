import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RawRecord, Tick } from '../../../services/core/messages.ts';
import { shardOf } from '../../../services/core/sharding.ts';
import { validateRecord } from '../../../services/ingestion/validate.ts';

const NOW = Date.parse('2026-11-26T05:00:00Z');
const own = ['NSE_EQ:1', 'NSE_EQ:2', 'NSE_EQ:3', 'NSE_EQ:4', 'NSE_EQ:5'].find((id) => shardOf(id, 2) === 0) ?? '';
const other = ['NSE_EQ:1', 'NSE_EQ:2', 'NSE_EQ:3', 'NSE_EQ:4', 'NSE_EQ:5'].find((id) => shardOf(id, 2) === 1) ?? '';
const tick = (id: string, over: Partial<Tick> = {}): RawRecord => ({
  schemaVersion: 1,
  payload: 'tick',
  tick: {
    instrument: { id, symbol: 'X', segment: 'NSE_EQ', securityId: id.split(':')[1] ?? '' },
    exchangeTimeMs: NOW,
    receivedTimeMs: NOW,
    seq: 1,
    lastPrice: 10,
    lastQuantity: 1,
    volume: 1,
    openInterest: 0,
    averagePrice: 0,
    open: 0,
    high: 0,
    low: 0,
    close: 0,
    totalBuyQuantity: 0,
    totalSellQuantity: 0,
    depth: [],
    meta: null,
    source: 'grpc',
    ...over,
  },
});
const ctx = { shardIndex: 0, shardCount: 2, known: new Set([own]), maxSkewMs: 600_000, nowMs: NOW };

describe('record validation', () => {
  test("a good tick of the shard's instrument passes", () => {
    assert.deepEqual(validateRecord(tick(own), ctx), { ok: true });
  });
  test('NaN, zero and negative prices are refused as bad-price', () => {
    for (const p of [Number.NaN, 0, -1, Number.POSITIVE_INFINITY]) {
      const v = validateRecord(tick(own, { lastPrice: p }), ctx);
      assert.equal(v.ok === false && v.reason, 'bad-price');
    }
  });
  test("another shard's instrument is not-in-shard; an unlisted one of this shard is unknown-instrument", () => {
    const v = validateRecord(tick(other), ctx);
    assert.equal(v.ok === false && v.reason, 'not-in-shard');
    const v2 = validateRecord(tick(own), { ...ctx, known: new Set<string>() });
    assert.equal(v2.ok === false && v2.reason, 'unknown-instrument');
  });
  test("an option contract's tick belongs to its underlying's shard, whatever its own id hashes to", () => {
    const meta = (underlying: string) => ({
      underlying,
      expiry: '2026-12-08',
      strike: 26_000,
      optionType: 'CALL' as const,
      lotSize: 75,
      tickSize: 0.05,
    });
    assert.deepEqual(validateRecord(tick('NSE_FNO:52175', { meta: meta(own) }), ctx), { ok: true });
    const v = validateRecord(tick('NSE_FNO:52175', { meta: meta(other) }), ctx);
    assert.equal(v.ok === false && v.reason, 'not-in-shard');
    const plain = validateRecord(tick('NSE_FNO:52175', { meta: { ...meta(own), optionType: 'OPTION_TYPE_UNSPECIFIED' } }), ctx);
    assert.equal(plain.ok, false, 'only an option names its owner through meta');
  });
  test('a timestamp further off than the skew is refused; without a skew limit it passes', () => {
    const old = tick(own, { exchangeTimeMs: NOW - 11 * 60_000 });
    const v = validateRecord(old, ctx);
    assert.equal(v.ok === false && v.reason, 'time-skew');
    assert.equal(validateRecord(old, { ...ctx, maxSkewMs: undefined }).ok, true);
  });
});
