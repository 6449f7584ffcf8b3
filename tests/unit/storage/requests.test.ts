import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ArgumentError,
  checkInstrumentList,
  decodePageToken,
  encodePageToken,
  parseBarsRequest,
  parseChainRequest,
  parseTicksRequest,
} from '../../../services/storage/requests.ts';

const invalid = (re: RegExp) => (e: unknown) => e instanceof ArgumentError && re.test(e.message);

describe('GetTicks arguments', () => {
  test('from_ms after to_ms is refused with both values', () => {
    assert.throws(
      () => parseTicksRequest({ instrument: 'IDX_I:13', fromMs: 10, toMs: 5 }),
      invalid(/from_ms must be ≤ to_ms \(from_ms 10 > to_ms 5\)/),
    );
  });

  test('a limit above 10000 is refused', () => {
    assert.throws(
      () => parseTicksRequest({ instrument: 'IDX_I:13', fromMs: 1, toMs: 5, limit: 10_001 }),
      invalid(/limit must be ≤ 10000/),
    );
  });

  test('limit 0 means the default page of 1000', () => {
    assert.equal(parseTicksRequest({ instrument: 'IDX_I:13', fromMs: 1, toMs: 5 }).limit, 1000);
  });

  test('an instrument that is not SEGMENT:id is refused', () => {
    assert.throws(() => parseTicksRequest({ instrument: 'NIFTY', fromMs: 1, toMs: 5 }), invalid(/not an instrument id/));
    assert.throws(() => parseTicksRequest({ fromMs: 1, toMs: 5 }), invalid(/instrument is required/));
  });

  test('a page token round-trips the keyset position', () => {
    const q = { instrument: 'IDX_I:13', fromMs: 1, toMs: 5 };
    const token = encodePageToken(q, { timeMs: 3, seq: 99 });
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(parseTicksRequest({ ...q, limit: 10, pageToken: token }).after, { timeMs: 3, seq: 99 });
  });

  test('a page token cannot be reused for another instrument or range', () => {
    const token = encodePageToken({ instrument: 'IDX_I:13', fromMs: 1, toMs: 5 }, { timeMs: 3, seq: 1 });
    assert.throws(() => decodePageToken(token, { instrument: 'IDX_I:25', fromMs: 1, toMs: 5 }), invalid(/different query/));
    assert.throws(() => decodePageToken('garbage!', { instrument: 'IDX_I:13', fromMs: 1, toMs: 5 }), invalid(/not a token/));
  });
});

describe('GetBars, GetOptionChain and instrument lists', () => {
  test('bars over more than 31 days are refused', () => {
    assert.throws(() => parseBarsRequest({ instrument: 'IDX_I:13', fromMs: 0 + 1, toMs: 40 * 86_400_000 }), invalid(/31 days/));
  });

  test('bars are 1-minute unless an interval of 1m, 5m, 15m, 1h or 1d is asked for; another is refused naming the field', () => {
    assert.equal(parseBarsRequest({ instrument: 'IDX_I:13', fromMs: 1, toMs: 2 }).interval, '1m');
    assert.equal(parseBarsRequest({ instrument: 'IDX_I:13', fromMs: 1, toMs: 2, interval: '' }).interval, '1m');
    assert.equal(parseBarsRequest({ instrument: 'IDX_I:13', fromMs: 1, toMs: 2, interval: '15m' }).interval, '15m');
    assert.throws(
      () => parseBarsRequest({ instrument: 'IDX_I:13', fromMs: 1, toMs: 2, interval: '2m' }),
      invalid(/^interval .*'2m'/),
    );
  });

  test('an underlying symbol is upper-cased for resolution; an id is kept', () => {
    assert.deepEqual(parseChainRequest({ underlying: 'nifty' }), { underlying: { symbol: 'NIFTY' }, expiry: '' });
    assert.deepEqual(parseChainRequest({ underlying: 'IDX_I:13', expiry: '2026-11-26' }), {
      underlying: { id: 'IDX_I:13' },
      expiry: '2026-11-26',
    });
  });

  test('a malformed expiry is refused', () => {
    assert.throws(() => parseChainRequest({ underlying: 'NIFTY', expiry: '26/11/2026' }), invalid(/expiry must be YYYY-MM-DD/));
  });

  test('instrument lists must be non-empty and are de-duplicated', () => {
    assert.throws(() => checkInstrumentList([]), invalid(/at least one/));
    assert.deepEqual(checkInstrumentList(['IDX_I:13', 'IDX_I:13']), ['IDX_I:13']);
    assert.throws(() => checkInstrumentList(['IDX_I:13', 'bad']), invalid(/instruments\[1\]/));
  });
});
