import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BrokenCircuitError } from 'cockatiel';
import { Backoff } from '../../../services/core/backoff.ts';
import { breakerState, isAuthDisconnect, reconnectPolicy, restBreaker } from '../../../services/ingestion/dhan/policies.ts';
import { parseScripMaster } from '../../../services/ingestion/dhan/scrip-master.ts';
import { subscribeMessages } from '../../../services/ingestion/dhan/source.ts';

const ok = (): Promise<string> => Promise.resolve('ok');
const fail = (): Promise<string> => Promise.reject(new Error('HTTP 500'));
const outcome = (p: Promise<unknown>): Promise<'ok' | 'failed' | 'refused'> =>
  p.then(
    () => 'ok' as const,
    (err: unknown) => (err instanceof BrokenCircuitError ? 'refused' : 'failed'),
  );

describe('Dhan resilience', () => {
  test('reconnects wait 1 s doubling to 60 s, with half jitter, and start over after a connection that opened', () => {
    for (let run = 0; run < 100; run++) {
      const b = new Backoff(reconnectPolicy());
      for (let attempt = 1; attempt <= 10; attempt++) {
        const ceiling = Math.min(60_000, 1_000 * 2 ** (attempt - 1));
        const got = b.next();
        assert.ok(got >= ceiling / 2 && got <= ceiling, `attempt ${attempt}: ${got} outside [${ceiling / 2}, ${ceiling}]`);
      }
      b.reset();
      const first = b.next();
      assert.ok(first >= 500 && first <= 1_000, `after a reset: ${first}`);
    }
  });

  test('the reconnect base and cap can be configured', () => {
    assert.deepEqual(reconnectPolicy(50, 200), { initialMs: 50, maxMs: 200, jitter: 'half' });
  });

  test('disconnect reasons 807, 808 and 809 (token expired, bad client id, auth failed) are final', () => {
    assert.deepEqual([805, 806, 807, 808, 809, 810].map(isAuthDisconnect), [false, false, true, true, true, false]);
  });

  test('the REST breaker opens after N failures, half-opens after the cool-down, closes on success', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    const b = restBreaker(3, 30_000);
    assert.equal(await outcome(b.execute(fail)), 'failed');
    assert.equal(await outcome(b.execute(fail)), 'failed');
    assert.equal(breakerState(b), 'closed');
    assert.equal(await outcome(b.execute(fail)), 'failed');
    assert.equal(breakerState(b), 'open');
    t.mock.timers.tick(29_999);
    assert.equal(await outcome(b.execute(ok)), 'refused', 'no request while open');
    t.mock.timers.tick(2);
    assert.equal(await outcome(b.execute(fail)), 'failed', 'one trial after the cool-down');
    assert.equal(breakerState(b), 'open', 'a failed trial opens it again');
    assert.equal(await outcome(b.execute(ok)), 'refused');
    t.mock.timers.tick(30_001);
    assert.equal(await outcome(b.execute(ok)), 'ok');
    assert.equal(breakerState(b), 'closed');
  });

  test('in half-open only one trial request is in flight at a time', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    const b = restBreaker(1, 1_000);
    await outcome(b.execute(fail));
    t.mock.timers.tick(1_001);
    let finishTrial: (v: string) => void = () => undefined;
    const trial = b.execute(() => new Promise<string>((resolve) => (finishTrial = resolve)));
    assert.equal(breakerState(b), 'half-open');
    let second = false;
    const queued = b.execute(() => {
      second = true;
      return 'ok';
    });
    await Promise.resolve();
    assert.equal(second, false, 'a second request waits for the trial');
    finishTrial('ok');
    assert.equal(await trial, 'ok');
    assert.equal(await queued, 'ok');
    assert.equal(breakerState(b), 'closed');
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
