// The web console's view model (services/gateway/console/src/view.ts): what the page shows for the
// gateway's JSON, without a browser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Bar, CatalogueEntry, ChainContract, OptionQuote, Snapshot } from '../../../services/gateway/console/src/types.ts';
import {
  atmStrike,
  candlesOf,
  candleWithPrice,
  chainRows,
  chainUnderlyings,
  contractOfQuote,
  direction,
  formatChangePercent,
  formatCompact,
  formatDelta,
  formatGamma,
  formatGex,
  formatIv,
  formatPrice,
  formatTimeIst,
  IST_OFFSET_MS,
  indexIds,
  maxAbsGex,
  parseLiveMessage,
  pickExpiry,
  priceOf,
  problemText,
  shardRows,
  tileOf,
  zeroGammaLine,
} from '../../../services/gateway/console/src/view.ts';

const contract = (strike: number, optionType: 'CALL' | 'PUT', over: Partial<ChainContract> = {}): ChainContract => ({
  id: `NSE_FNO:${strike}${optionType[0]}`,
  symbol: `NIFTY ${strike} ${optionType === 'CALL' ? 'CE' : 'PE'}`,
  strike,
  optionType,
  price: 100,
  iv: 0.14,
  delta: optionType === 'CALL' ? 0.5 : -0.5,
  gamma: 0.0005,
  openInterest: 1_000,
  gex: optionType === 'CALL' ? 2e7 : -3e7,
  timeMs: 1_000,
  ...over,
});

describe('number formats', () => {
  test('prices in rupees with Indian digit grouping and two decimals', () => {
    assert.equal(formatPrice(2435005.5), '24,35,005.50');
    assert.equal(formatPrice(24350.05), '24,350.05');
    assert.equal(formatPrice(null), '—');
    assert.equal(formatPrice(Number.NaN), '—');
  });
  test('signed percentages, IV as a percentage, Δ and Γ at readable precision', () => {
    assert.equal(formatChangePercent(0.4219), '+0.42 %');
    assert.equal(formatChangePercent(-1.2), '−1.20 %');
    assert.equal(formatChangePercent(0), '0.00 %');
    assert.equal(formatIv(0.13249), '13.2 %');
    assert.equal(formatIv(null), '—');
    assert.equal(formatDelta(-0.51234), '-0.512');
    assert.equal(formatGamma(0.000523456), '0.000523');
    assert.equal(formatGamma(0.0123456), '0.0123');
    assert.equal(formatGamma(0), '0');
  });
  test('counts in lakh and crore, GEX signed in rupees', () => {
    assert.equal(formatCompact(12_345), '12,345');
    assert.equal(formatCompact(123_456), '1.23 L');
    assert.equal(formatCompact(45_600_000), '4.56 Cr');
    assert.equal(formatCompact(-250_000), '−2.50 L');
    assert.equal(formatGex(1.234e8), '+₹12.34 Cr');
    assert.equal(formatGex(-5e5), '−₹5.00 L');
    assert.equal(formatGex(0), '₹0');
  });
  test('times read as IST wall clock, whatever the zone of the machine', () => {
    // 2026-11-30 03:45:07 UTC is 09:15:07 in Mumbai.
    assert.equal(formatTimeIst(Date.UTC(2026, 10, 30, 3, 45, 7)), '09:15:07');
    assert.equal(formatTimeIst(0), '—');
  });
  test('a refused token reads as a login error, 401 and 403 told apart', () => {
    assert.match(
      problemText({ status: 401, detail: 'signature verification failed' }),
      /^Login failed: the token was not accepted/,
    );
    assert.match(problemText({ status: 403, detail: "token lacks scope 'stream'" }), /lacks a scope.*'stream'/);
    assert.equal(problemText({ status: 404, detail: 'no route GET /x' }), 'no route GET /x');
  });
});

describe('index tiles', () => {
  const snap = (lastPrice: number, close: number): Snapshot => ({
    instrumentId: 'IDX_I:13',
    timeMs: 5,
    tick: {
      instrument: { id: 'IDX_I:13', symbol: 'NIFTY', segment: 'IDX_I', securityId: '13' },
      exchangeTimeMs: 7,
      lastPrice,
      volume: 0,
      openInterest: 0,
      open: 0,
      high: 0,
      low: 0,
      close,
    },
  });
  test('level and change on the previous close', () => {
    const t = tileOf(snap(24_500, 24_000));
    assert.equal(t?.symbol, 'NIFTY');
    assert.equal(t?.price, 24_500);
    assert.equal(t?.change, 500);
    assert.ok(Math.abs((t?.changePercent ?? 0) - 2.0833) < 1e-3);
    assert.equal(t?.timeMs, 7);
  });
  test('no previous close, no change; a snapshot without a tick is no tile', () => {
    assert.equal(tileOf(snap(24_500, 0))?.change, null);
    assert.equal(tileOf({ instrumentId: 'X:1', timeMs: 1 }), undefined);
  });
  test('the flash follows the move', () => {
    assert.equal(direction(undefined, 5), 'flat');
    assert.equal(direction(5, 5), 'flat');
    assert.equal(direction(5, 6), 'up');
    assert.equal(direction(6, 5), 'down');
  });
  test('indices from the catalogue; underlyings with contracts, most contracts first', () => {
    const e = (id: string, over: Partial<CatalogueEntry> = {}): CatalogueEntry => ({
      id,
      symbol: id,
      segment: id.split(':')[0] ?? '',
      underlying: '',
      expiry: '',
      strike: 0,
      optionType: '',
      ...over,
    });
    const entries = [
      e('IDX_I:13'),
      e('NSE_EQ:2885'),
      e('IDX_I:25'),
      e('NSE_FNO:1', { underlying: 'IDX_I:25', optionType: 'CALL' }),
      e('NSE_FNO:2', { underlying: 'IDX_I:13', optionType: 'CALL' }),
      e('NSE_FNO:3', { underlying: 'IDX_I:13', optionType: 'PUT' }),
    ];
    assert.deepEqual(indexIds(entries), ['IDX_I:13', 'IDX_I:25']);
    assert.deepEqual(indexIds(entries, 1), ['IDX_I:13']);
    assert.deepEqual(chainUnderlyings(entries), ['IDX_I:13', 'IDX_I:25']);
  });
});

describe('option chain rows', () => {
  test('one row per strike, ascending, calls and puts side by side, net GEX per strike', () => {
    const rows = chainRows([
      contract(24_400, 'PUT'),
      contract(24_300, 'CALL'),
      contract(24_400, 'CALL'),
      contract(24_300, 'PUT'),
    ]);
    assert.deepEqual(
      rows.map((r) => r.strike),
      [24_300, 24_400],
    );
    assert.equal(rows[0]?.call?.id, 'NSE_FNO:24300C');
    assert.equal(rows[0]?.put?.id, 'NSE_FNO:24300P');
    assert.equal(rows[0]?.netGex, -1e7);
    assert.equal(maxAbsGex(rows), 1e7);
  });
  test('a strike with one side only keeps the other empty', () => {
    const [row] = chainRows([contract(24_500, 'PUT')]);
    assert.equal(row?.call, undefined);
    assert.equal(row?.netGex, -3e7);
  });
  test('ATM is the strike nearest to spot, the lower one on a tie', () => {
    const strikes = [24_200, 24_250, 24_300, 24_350];
    assert.equal(atmStrike(strikes, 24_281), 24_300);
    assert.equal(atmStrike(strikes, 24_275), 24_250);
    assert.equal(atmStrike(strikes, 30_000), 24_350);
    assert.equal(atmStrike([], 24_000), undefined);
    assert.equal(atmStrike(strikes, 0), undefined);
  });
  test('the zero-gamma line goes between the strikes around the level, or at the edge outside them', () => {
    const strikes = [24_200, 24_250, 24_300];
    assert.deepEqual(zeroGammaLine(strikes, 24_262.5), { index: 2, level: 24_262.5, where: 'inside' });
    assert.deepEqual(zeroGammaLine(strikes, 24_250), { index: 2, level: 24_250, where: 'inside' });
    assert.deepEqual(zeroGammaLine(strikes, 24_200), { index: 1, level: 24_200, where: 'inside' });
    assert.deepEqual(zeroGammaLine(strikes, 24_300), { index: 3, level: 24_300, where: 'inside' });
    assert.deepEqual(zeroGammaLine(strikes, 23_000), { index: 0, level: 23_000, where: 'below' });
    assert.deepEqual(zeroGammaLine(strikes, 25_000), { index: 3, level: 25_000, where: 'above' });
    assert.equal(zeroGammaLine(strikes, null), null);
    assert.equal(zeroGammaLine([], 24_000), null);
  });
  test('a live option quote becomes a chain contract; IV null when not solvable', () => {
    const q: OptionQuote = {
      instrument: { id: 'NSE_FNO:1', symbol: 'NIFTY 24300 CE', segment: 'NSE_FNO', securityId: '1' },
      meta: { underlying: 'IDX_I:13', expiry: '2026-12-03', strike: 24_300, optionType: 'CALL' },
      exchangeTimeMs: 9,
      underlyingPrice: 24_310,
      price: 120,
      bidPrice: 119,
      askPrice: 121,
      openInterest: 5_000,
      volume: 10,
      ivAvailable: false,
      iv: 0,
      delta: 0.52,
      gamma: 0.0004,
      theta: -10,
      vega: 12,
      gex: 3e6,
    };
    const c = contractOfQuote(q);
    assert.equal(c?.strike, 24_300);
    assert.equal(c?.optionType, 'CALL');
    assert.equal(c?.iv, null);
    assert.equal(c?.timeMs, 9);
    assert.equal(contractOfQuote({ ...q, ivAvailable: true, iv: 0.15 })?.iv, 0.15);
    assert.equal(contractOfQuote({ ...q, meta: { ...q.meta, optionType: 'OPTION_TYPE_UNSPECIFIED' } }), undefined);
  });
  test('the expiry switch keeps a listed expiry and falls back to the chain’s own', () => {
    const chain = { expiry: '2026-12-03', expiries: ['2026-12-03', '2026-12-10'] };
    assert.equal(pickExpiry(chain, '2026-12-10'), '2026-12-10');
    assert.equal(pickExpiry(chain, '2026-11-26'), '2026-12-03');
    assert.equal(pickExpiry(chain, undefined), '2026-12-03');
  });
});

describe('candles', () => {
  const minute = Date.UTC(2026, 10, 30, 4, 0);
  const bar = (m: number, close: number): Bar => ({
    minuteStartMs: minute + m * 60_000,
    open: 100,
    high: 110,
    low: 90,
    close,
    volume: 5,
  });
  test('bars become candles ascending, in seconds shifted to IST, one per minute', () => {
    const c = candlesOf([bar(1, 101), bar(0, 100), bar(1, 102)]);
    assert.deepEqual(
      c.map((x) => x.time),
      [(minute + IST_OFFSET_MS) / 1000, (minute + 60_000 + IST_OFFSET_MS) / 1000],
    );
    assert.equal(c[1]?.close, 102);
  });
  test('a live price widens the current candle, opens the next minute, and leaves a late tick out', () => {
    const [last] = candlesOf([bar(0, 100)]);
    const same = candleWithPrice(last, 115, minute + 30_000);
    assert.deepEqual(same, { time: last?.time, open: 100, high: 115, low: 90, close: 115 });
    const next = candleWithPrice(same, 99, minute + 61_000);
    assert.deepEqual(next, { time: (minute + 60_000 + IST_OFFSET_MS) / 1000, open: 99, high: 99, low: 99, close: 99 });
    assert.equal(candleWithPrice(next, 98, minute + 1_000), undefined);
    assert.equal(candleWithPrice(undefined, 98, minute)?.open, 98);
    assert.equal(candleWithPrice(undefined, Number.NaN, minute), undefined);
  });
  test('the traded price of a tick or an option quote', () => {
    assert.deepEqual(priceOf({ instrumentId: 'A:1', timeMs: 3, tick: { lastPrice: 5, exchangeTimeMs: 0 } as never }), {
      price: 5,
      timeMs: 3,
    });
    assert.deepEqual(priceOf({ instrumentId: 'A:1', timeMs: 3, optionQuote: { price: 7, exchangeTimeMs: 4 } as never }), {
      price: 7,
      timeMs: 4,
    });
    assert.equal(priceOf({ instrumentId: 'A:1', timeMs: 3 }), undefined);
  });
});

describe('shard status rows', () => {
  const now = Date.UTC(2026, 10, 30, 5, 0);
  const shard = (component: string, shardIndex: number, over: Record<string, unknown> = {}) => ({
    feed: 'nifty',
    component,
    shardIndex,
    shardCount: 2,
    instruments: 4,
    ticksPerSecond: 99.94,
    lastTickMs: now - 1_000,
    connectionState: 'CONNECTED',
    lag: 0,
    errors: 0,
    ...over,
  });
  test('by shard, then ingestion → processor → storage; unreachable endpoints last and unhealthy', () => {
    const rows = shardRows(
      {
        shards: [
          shard('storage', 1),
          shard('processor', 0),
          shard('ingestion', 1, { connectionState: 'RUNNING' }),
          shard('storage', 0),
        ],
        unreachable: [{ endpoint: '127.0.0.1:1', error: 'UNAVAILABLE: connection refused' }],
      },
      now,
    );
    assert.deepEqual(
      rows.map((r) => r.key),
      ['processor-0', 'storage-0', 'ingestion-1', 'storage-1', 'unreachable-127.0.0.1:1'],
    );
    assert.equal(rows[0]?.shard, '0/2');
    assert.equal(rows[0]?.ticksPerSecond, '99.9');
    assert.ok(rows.slice(0, 4).every((r) => r.healthy));
    assert.equal(rows[4]?.healthy, false);
    assert.match(rows[4]?.state ?? '', /unreachable: UNAVAILABLE/);
  });
  test('a quiet or failing shard is unhealthy and says why; int64 fields may come as strings', () => {
    const [quiet, failing] = shardRows(
      {
        shards: [
          shard('ingestion', 0, { lastTickMs: String(now - 60_000) }),
          shard('ingestion', 1, { connectionState: 'EXPIRED_TOKEN', lag: '12' }),
        ],
        unreachable: [],
      },
      now,
    );
    assert.equal(quiet?.healthy, false);
    assert.match(quiet?.state ?? '', /quiet 60 s/);
    assert.equal(failing?.healthy, false);
    assert.equal(failing?.lag, 12);
  });
});

describe('live messages', () => {
  test('quotes, acknowledgements and problems are typed; anything else is dropped', () => {
    const q = parseLiveMessage('{"type":"quote","instrument":"IDX_I:13","snapshot":{"instrumentId":"IDX_I:13","timeMs":1}}');
    assert.equal(q?.type, 'quote');
    assert.deepEqual(parseLiveMessage('{"type":"subscribed","instruments":["A:1",2]}'), {
      type: 'subscribed',
      instruments: ['A:1'],
    });
    assert.equal(parseLiveMessage('{"type":"error","problem":{"status":400,"detail":"x"}}')?.type, 'error');
    assert.equal(parseLiveMessage('not json'), undefined);
    assert.equal(parseLiveMessage('{"type":"quote"}'), undefined);
    assert.equal(parseLiveMessage('null'), undefined);
  });
});
