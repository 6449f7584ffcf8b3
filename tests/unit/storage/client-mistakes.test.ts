// Every client mistake the MarketData API was found to turn into UNKNOWN or INTERNAL is an
// ArgumentError naming its field, raised by the pure parsers before any database work.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ArgumentError,
  checkInstrumentList,
  encodePageToken,
  isCalendarDate,
  MAX_TIME_MS,
  parseBarsRequest,
  parseChainRequest,
  parseTicksRequest,
} from '../../../services/storage/requests.ts';

const RANGE = { instrument: 'IDX_I:13', fromMs: 1_000, toMs: 5_000 };
const forge = (body: unknown): string => Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');

const CASES: { what: string; parse: () => unknown; field: string }[] = [
  { what: 'GetOptionChain {}', parse: () => parseChainRequest({}), field: 'underlying' },
  { what: 'expiry month 13', parse: () => parseChainRequest({ underlying: 'NIFTY', expiry: '2026-13-01' }), field: 'expiry' },
  { what: 'expiry 30 February', parse: () => parseChainRequest({ underlying: 'NIFTY', expiry: '2026-02-30' }), field: 'expiry' },
  { what: 'expiry year 0', parse: () => parseChainRequest({ underlying: 'NIFTY', expiry: '0000-01-01' }), field: 'expiry' },
  { what: 'underlying of symbols', parse: () => parseChainRequest({ underlying: 'NIFTY;DROP' }), field: 'underlying' },
  { what: 'to_ms 2^53-1', parse: () => parseTicksRequest({ ...RANGE, toMs: 9_007_199_254_740_991 }), field: 'to_ms' },
  { what: 'to_ms past year 9999', parse: () => parseTicksRequest({ ...RANGE, toMs: MAX_TIME_MS + 1 }), field: 'to_ms' },
  { what: 'negative from_ms', parse: () => parseTicksRequest({ ...RANGE, fromMs: -1 }), field: 'from_ms' },
  { what: 'from_ms after to_ms', parse: () => parseTicksRequest({ ...RANGE, fromMs: 6_000 }), field: 'from_ms' },
  { what: 'negative limit', parse: () => parseTicksRequest({ ...RANGE, limit: -5 }), field: 'limit' },
  { what: 'limit above 10000', parse: () => parseTicksRequest({ ...RANGE, limit: 10_001 }), field: 'limit' },
  { what: 'token of garbage', parse: () => parseTicksRequest({ ...RANGE, pageToken: 'not-a-token' }), field: 'page_token' },
  { what: 'token of JSON null', parse: () => parseTicksRequest({ ...RANGE, pageToken: forge(null) }), field: 'page_token' },
  {
    what: 'token with a cursor past year 275760',
    parse: () => parseTicksRequest({ ...RANGE, pageToken: forge({ v: 1, i: 'IDX_I:13', f: 1_000, t: 5_000, at: 9e15, as: 1 }) }),
    field: 'page_token',
  },
  {
    what: 'token with a fractional seq',
    parse: () =>
      parseTicksRequest({ ...RANGE, pageToken: forge({ v: 1, i: 'IDX_I:13', f: 1_000, t: 5_000, at: 2_000, as: 1.5 }) }),
    field: 'page_token',
  },
  {
    what: 'token with a string cursor',
    parse: () =>
      parseTicksRequest({ ...RANGE, pageToken: forge({ v: 1, i: 'IDX_I:13', f: 1_000, t: 5_000, at: '2000', as: 1 }) }),
    field: 'page_token',
  },
  {
    what: 'token of another range',
    parse: () =>
      parseTicksRequest({ ...RANGE, pageToken: encodePageToken({ ...RANGE, toMs: 9_000 }, { timeMs: 2_000, seq: 1 }) }),
    field: 'page_token',
  },
  { what: 'GetTicks without instrument', parse: () => parseTicksRequest({ fromMs: 1, toMs: 2 }), field: 'instrument' },
  {
    what: 'instrument of 65 characters',
    parse: () => parseTicksRequest({ ...RANGE, instrument: `IDX_I:${'1'.repeat(59)}` }),
    field: 'instrument',
  },
  { what: 'GetBars interval 7m', parse: () => parseBarsRequest({ ...RANGE, interval: '7m' }), field: 'interval' },
  { what: 'GetBars to_ms 0', parse: () => parseBarsRequest({ instrument: 'IDX_I:13' }), field: 'to_ms' },
  { what: 'GetLatest []', parse: () => checkInstrumentList([]), field: 'instruments' },
  { what: 'GetLatest malformed id', parse: () => checkInstrumentList(['IDX_I:13', 'nifty']), field: 'instruments[1]' },
];

describe('client mistakes are ArgumentErrors naming the field', () => {
  for (const c of CASES) {
    test(`${c.what} → names ${c.field}`, () => {
      assert.throws(c.parse, (e: unknown) => e instanceof ArgumentError && e.message.includes(c.field));
    });
  }

  test('a token the server issued for this query is still accepted, and the last representable instant is a valid to_ms', () => {
    const token = encodePageToken(RANGE, { timeMs: 2_000, seq: 7 });
    assert.deepEqual(parseTicksRequest({ ...RANGE, pageToken: token }).after, { timeMs: 2_000, seq: 7 });
    assert.equal(parseTicksRequest({ ...RANGE, toMs: MAX_TIME_MS }).toMs, MAX_TIME_MS);
  });

  test('calendar dates: leap days only in leap years', () => {
    assert.equal(isCalendarDate('2028-02-29'), true);
    assert.equal(isCalendarDate('2026-02-29'), false);
    assert.equal(isCalendarDate('2026-11-26'), true);
    assert.equal(isCalendarDate('2026-11-26T00:00'), false);
  });
});
