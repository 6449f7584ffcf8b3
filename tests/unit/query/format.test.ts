import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatBars,
  formatChain,
  formatExposure,
  formatGex,
  formatQuantity,
  formatSnapshotLine,
  formatTime,
  parseTimeArg,
  table,
} from '../../../services/query/format.ts';
import { bar, gex, quote, T0, tick } from '../storage/fixtures.ts';

describe('stockify query formatting', () => {
  test('times are shown on the exchange clock (IST) with milliseconds', () => {
    assert.equal(formatTime(Date.UTC(2026, 10, 20, 3, 45, 0, 7)), '2026-11-20 09:15:00.007 IST');
    assert.equal(formatTime(0), '-');
  });

  test('quantities use lakh and crore', () => {
    assert.equal(formatQuantity(950), '950');
    assert.equal(formatQuantity(150_000), '1.50L');
    assert.equal(formatQuantity(25_000_000), '2.50Cr');
    assert.equal(formatExposure(-1.5e9), '-150.00Cr');
  });

  test('tables pad columns and right-align numbers', () => {
    assert.equal(
      table(
        ['a', 'num'],
        [
          ['xx', '1'],
          ['y', '100'],
        ],
        [false, true],
      ),
      'a   num\n--  ---\nxx    1\ny   100',
    );
  });

  test('a chain puts calls left and puts right of each strike, then the GEX summary with zero gamma', () => {
    const text = formatChain({
      underlyingId: 'IDX_I:13',
      expiry: '2026-11-26',
      spot: 25_000,
      quotes: [quote('NSE_FNO:2', 25_100, 'PUT', 1), quote('NSE_FNO:1', 25_000, 'CALL', 1), quote('NSE_FNO:3', 25_000, 'PUT', 1)],
      gex: gex('IDX_I:13', T0),
    });
    const lines = text.split('\n');
    assert.equal(lines[0], 'IDX_I:13  expiry 2026-11-26  spot 25000.00');
    const row25000 = lines.find((l) => l.includes('25000.00  |'));
    assert.ok(row25000, text);
    assert.match(
      row25000,
      /^14\.00\s+0\.520\s+0\.00120\s+1\.50L\s+120\.50\s+\|\s+25000\.00\s+\|\s+120\.50\s+1\.50L\s+0\.00120\s+-0\.480\s+14\.00$/,
    );
    const row25100 = lines.find((l) => l.includes('25100.00  |'));
    assert.match(row25100 ?? '', /^\s+\|\s+25100\.00\s+\|/, 'no call at 25100: empty call columns');
    assert.match(text, /zero-gamma 24870\.50/);
    assert.match(text, /net \+20\.00Cr/);
  });

  test('GEX without a zero crossing says so', () => {
    assert.match(formatGex({ ...gex('IDX_I:13', T0), zeroGammaAvailable: false }), /zero-gamma none in range/);
    assert.equal(formatGex(null), 'GEX: not available');
  });

  test('snapshot lines name the instrument and its price', () => {
    const t = tick('IDX_I:13', 5, T0, 25_012.5);
    assert.match(
      formatSnapshotLine({ instrumentId: 'IDX_I:13', timeMs: T0, tick: t }),
      /IDX_I:13 {2}NIFTY {2}ltp 25012\.50 {2}vol 1005 {2}seq 5$/,
    );
    const q = quote('NSE_FNO:1', 25_000, 'CALL', 1);
    assert.match(
      formatSnapshotLine({ instrumentId: 'NSE_FNO:1', timeMs: T0, optionQuote: q }),
      /price 120\.50 {2}iv 14\.00% {2}delta 0\.520/,
    );
  });

  test('bars show one row per minute', () => {
    const lines = formatBars([bar('IDX_I:13', Date.UTC(2026, 10, 20, 3, 46))]).split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[2] ?? '', /^2026-11-20 09:16 IST\s+100\.00\s+105\.00\s+99\.00\s+103\.00\s+50\s+10\s+no$/);
  });

  test('--from/--to accept epoch ms, ISO, now and now-<n><unit>', () => {
    const now = 1_800_000_000_000;
    assert.equal(parseTimeArg('1700000000000', now), 1_700_000_000_000);
    assert.equal(parseTimeArg('now', now), now);
    assert.equal(parseTimeArg('now-2h', now), now - 7_200_000);
    assert.equal(parseTimeArg('2026-11-20T09:15:00+05:30', now), Date.UTC(2026, 10, 20, 3, 45));
    assert.equal(parseTimeArg('yesterday', now), undefined);
  });
});
