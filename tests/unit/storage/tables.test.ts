import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addRecord,
  batchSize,
  copyLines,
  copyText,
  emptyBatch,
  RowError,
  TABLE_SPECS,
  TABLES,
  tickRow,
} from '../../../services/storage/tables.ts';
import { bar, gex, quote, rec, T0, tick } from './fixtures.ts';

describe('COPY rows', () => {
  test('every row has exactly one value per column of its table', () => {
    const b = emptyBatch();
    addRecord(b, rec.tick(tick('IDX_I:13', 1)));
    addRecord(b, rec.quote(quote('NSE_FNO:1', 25_000, 'CALL', 1)));
    addRecord(b, rec.bar(bar('IDX_I:13', T0)));
    addRecord(b, rec.gex(gex('IDX_I:13', T0)));
    for (const t of TABLES) {
      assert.equal(b[t].length, 1, t);
      assert.equal(b[t][0]?.length, TABLE_SPECS[t].columns.length, t);
    }
    assert.equal(batchSize(b), 4);
  });

  test('times are written as UTC ISO timestamps with milliseconds', () => {
    const b = emptyBatch();
    addRecord(b, rec.tick(tick('IDX_I:13', 7, Date.UTC(2026, 0, 2, 3, 4, 5, 678))));
    assert.equal(b.ticks[0]?.[1], '2026-01-02T03:04:05.678Z');
  });

  test('an option quote records its contract in the instruments seen', () => {
    const b = emptyBatch();
    addRecord(b, rec.quote(quote('NSE_FNO:42', 25_100, 'PUT', 1)));
    const i = b.instruments.get('NSE_FNO:42');
    assert.equal(i?.underlyingId, 'IDX_I:13');
    assert.equal(i?.expiry, '2026-11-26');
    assert.equal(i?.optionType, 'PUT');
  });

  test('a record without an exchange time is refused with the field named', () => {
    const b = emptyBatch();
    assert.throws(
      () => addRecord(b, rec.tick(tick('IDX_I:13', 1, 0))),
      (e: Error) => e instanceof RowError && /exchange_time_ms/.test(e.message),
    );
    assert.equal(batchSize(b), 0);
  });

  test('a quote with a malformed expiry is refused', () => {
    const b = emptyBatch();
    assert.throws(
      () => addRecord(b, rec.quote(quote('NSE_FNO:1', 1, 'CALL', 1, { expiry: '26-11-2026' }))),
      /expiry must be YYYY-MM-DD/,
    );
  });
});

describe('COPY text format', () => {
  test('NULL, booleans and special floats use PostgreSQL spellings', () => {
    assert.equal(copyText(null), '\\N');
    assert.equal(copyText(true), 't');
    assert.equal(copyText(false), 'f');
    assert.equal(copyText(Number.NaN), 'NaN');
    assert.equal(copyText(Number.POSITIVE_INFINITY), 'Infinity');
  });

  test('tabs, newlines and backslashes inside text are escaped', () => {
    assert.equal(copyText('a\tb\nc\\d\re'), 'a\\tb\\nc\\\\d\\re');
  });

  test('timestamps are exact ISO instants, also for many instants that share cache slots', () => {
    for (let i = 0; i < 5_000; i++) {
      const ms = T0 + i * 1_024 + (i % 7);
      const row = tickRow(tick('IDX_I:13', i, ms));
      assert.equal(row[1], new Date(ms).toISOString());
      assert.equal(row[4], new Date(ms + 3).toISOString());
    }
  });

  test('text without special characters is passed through unchanged', () => {
    assert.equal(copyText('NSE_FNO:43521'), 'NSE_FNO:43521');
  });

  test('rows become tab-separated lines', () => {
    assert.equal(
      copyLines([
        [1, 'x', null],
        [2, 'y', true],
      ]),
      '1\tx\t\\N\n2\ty\tt\n',
    );
  });
});
