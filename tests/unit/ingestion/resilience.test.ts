import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { backoffDelay, CircuitBreaker } from '../../../services/ingestion/dhan/resilience.ts';
import { parseScripMaster } from '../../../services/ingestion/dhan/scrip-master.ts';
import { subscribeMessages } from '../../../services/ingestion/dhan/source.ts';

describe('Dhan resilience', () => {
  test('back-off grows exponentially with jitter and is capped', () => {
    assert.equal(
      backoffDelay(0, 1000, 60_000, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(3, 1000, 60_000, () => 1),
      8000,
    );
    assert.equal(
      backoffDelay(30, 1000, 60_000, () => 1),
      60_000,
    );
  });

  test('the circuit breaker opens after N failures, half-opens after the cool-down, closes on success', () => {
    const b = new CircuitBreaker(3, 30_000);
    b.failure(0);
    b.failure(1);
    assert.equal(b.allow(2), true);
    b.failure(2);
    assert.equal(b.allow(3), false);
    assert.equal(b.state(30_002), 'half-open');
    assert.equal(b.allow(30_002), true);
    assert.equal(b.allow(30_003), false, 'one trial at a time');
    b.failure(30_004);
    assert.equal(b.state(30_005), 'open');
    assert.equal(b.allow(60_004), true);
    b.success();
    assert.equal(b.state(60_005), 'closed');
  });

  test('subscriptions go in messages of at most 100 instruments', () => {
    const list = Array.from({ length: 250 }, (_, i) => ({
      segment: 'NSE_EQ' as const,
      securityId: String(i + 1),
      symbol: `S${i}`,
    }));
    const msgs = subscribeMessages('full', list).map((m) => JSON.parse(m));
    assert.deepEqual(
      msgs.map((m) => m.InstrumentCount),
      [100, 100, 50],
    );
    assert.equal(msgs[0].RequestCode, 21);
    assert.deepEqual(msgs[2].InstrumentList[0], { ExchangeSegment: 'NSE_EQ', SecurityId: '201' });
  });
});

describe('scrip master', () => {
  const master = parseScripMaster(
    readFileSync(new URL('../../fixtures/ingestion/api-scrip-master.csv', import.meta.url), 'utf8'),
  );
  test('resolves symbols to segment and security id', () => {
    assert.equal(master.bySymbol('NSE_EQ', 'HDFCBANK')?.securityId, '1333');
    assert.equal(master.bySymbol('IDX_I', 'NIFTY')?.securityId, '13');
  });
  test('resolves option contracts by underlying, expiry, strike and type', () => {
    const row = master.option('NIFTY', '2026-12-01', 26000, 'CE');
    assert.equal(row?.securityId, '52175');
    assert.equal(row?.segment, 'NSE_FNO');
    assert.equal(row?.lotSize, 75);
  });
  test('rows of unknown exchanges are skipped and counted', () => {
    assert.equal(master.skipped, 1);
  });
});
