import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OptionChain, OptionQuote } from '../../../services/core/messages.ts';
import { chainExcerpt } from '../../../services/up/excerpt.ts';

function quote(strike: number, type: 'CALL' | 'PUT', over: Partial<OptionQuote> = {}): OptionQuote {
  return {
    instrument: { id: `NSE_FNO:${strike}${type[0]}`, symbol: `NIFTY ${strike} ${type}`, segment: 'NSE_FNO', securityId: '1' },
    meta: { underlying: 'IDX_I:13', expiry: '2026-05-28', strike, optionType: type, lotSize: 75, tickSize: 0.05 },
    exchangeTimeMs: 0,
    receivedTimeMs: 0,
    seq: 1,
    underlyingPrice: 24_510,
    price: 100,
    bidPrice: 99,
    askPrice: 101,
    openInterest: 1000,
    volume: 10,
    timeToExpiryYears: 0.02,
    ivAvailable: true,
    iv: 0.14,
    delta: type === 'CALL' ? 0.5 : -0.5,
    gamma: 0.0004,
    theta: -5,
    vega: 10,
    rho: 1,
    gex: type === 'CALL' ? 1e6 : -8e5,
    ...over,
  };
}

function chain(spot: number): OptionChain {
  const quotes: OptionQuote[] = [];
  for (let k = 24_000; k <= 25_000; k += 50) quotes.push(quote(k, 'CALL'), quote(k, 'PUT'));
  return {
    underlyingId: 'IDX_I:13',
    expiry: '2026-05-28',
    spot,
    quotes,
    gex: {
      underlyingId: 'IDX_I:13',
      expiry: '2026-05-28',
      timeMs: 0,
      spot,
      netGex: 4.2e9,
      callGex: 5e9,
      putGex: -0.8e9,
      zeroGammaAvailable: true,
      zeroGammaLevel: 24_310.5,
      strikes: [],
    },
  };
}

describe('option-chain excerpt', () => {
  test('keeps n strikes each side of the one nearest the spot, marked at the money', () => {
    const ex = chainExcerpt(chain(24_512), 3);
    assert.deepEqual(
      ex.rows.map((r) => r.strike),
      [24_350, 24_400, 24_450, 24_500, 24_550, 24_600, 24_650],
    );
    assert.deepEqual(
      ex.rows.filter((r) => r.atm).map((r) => r.strike),
      [24_500],
    );
    assert.equal(ex.contracts, 42);
  });

  test('pairs calls and puts of a strike and carries IV, delta, gamma, OI and GEX', () => {
    const row = chainExcerpt(chain(24_512), 1).rows[1];
    assert.equal(row?.call?.delta, 0.5);
    assert.equal(row?.put?.delta, -0.5);
    assert.equal(row?.put?.gex, -8e5);
    assert.equal(row?.call?.iv, 0.14);
    assert.equal(row?.call?.openInterest, 1000);
  });

  test('net GEX and the zero-gamma level come from the chain; unavailable zero gamma is left out', () => {
    const c = chain(24_512);
    assert.equal(chainExcerpt(c).netGex, 4.2e9);
    assert.equal(chainExcerpt(c).zeroGamma, 24_310.5);
    if (c.gex) c.gex.zeroGammaAvailable = false;
    assert.equal(chainExcerpt(c).zeroGamma, undefined);
  });

  test('an IV that could not be solved is undefined, not zero', () => {
    const c = chain(24_500);
    c.quotes = [quote(24_500, 'CALL', { ivAvailable: false, iv: 0 })];
    assert.equal(chainExcerpt(c).rows[0]?.call?.iv, undefined);
  });

  test('at the edge of the chain the excerpt is shorter, and an empty chain has no rows', () => {
    assert.equal(chainExcerpt(chain(23_000), 3).rows[0]?.strike, 24_000);
    assert.equal(chainExcerpt(chain(23_000), 3).rows.length, 4);
    assert.deepEqual(chainExcerpt({ underlyingId: 'IDX_I:13', expiry: '', spot: 1, quotes: [] }).rows, []);
  });
});
