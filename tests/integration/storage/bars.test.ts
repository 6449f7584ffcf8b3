import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import type { Bar } from '../../../services/core/messages.ts';
import { migrate, type SchemaInfo } from '../../../services/storage/migrations.ts';
import { HistoryReader } from '../../../services/storage/queries.ts';
import { parseBarsRequest } from '../../../services/storage/requests.ts';
import { addRecord, emptyBatch } from '../../../services/storage/tables.ts';
import { PgWriter } from '../../../services/storage/writer.ts';
import { bar, rec } from '../../unit/storage/fixtures.ts';
import { dropSchema, quietLog, testPool, uniqueName } from './helpers.ts';

const ctx = { timeoutMs: 10_000, onCancel: () => undefined };
const MIN = 60_000;
const IST = 330 * MIN;
const ID = 'IDX_I:13';
/** 09:15 IST on T0's day: the market open, a 15-minute boundary. */
const OPEN = Date.UTC(2026, 10, 20, 3, 45);

/** A deterministic, wandering 1-minute bar. */
function minute(i: number): Bar {
  const base = 25_000 + 40 * Math.sin(i / 7) + (i % 5);
  const volume = 100 + ((i * 37) % 250);
  // Stored volume follows the cumulative volume at the minute's edges (so merged partial bars add up).
  const cum = 1_000_000 + i * 1_000;
  return bar(ID, OPEN + i * MIN, {
    volumeCumStart: cum,
    volumeCumEnd: cum + volume,
    open: base,
    high: base + 3 + (i % 4),
    low: base - 2 - (i % 3),
    close: base + ((i % 7) - 3) / 2,
    volume,
    openInterest: 5_000 + i,
    tickCount: 10 + (i % 6),
    final: true,
  });
}

/** The bars of `width` minutes the 1-minute bars make, by the rules: first open, max, min, last close, sum. */
function expected(bars: Bar[], widthMin: number) {
  const out = new Map<number, { open: number; high: number; low: number; close: number; volume: number; tickCount: number }>();
  for (const b of bars) {
    // Buckets on the exchange's clock (IST, +05:30).
    const start = Math.floor((b.minuteStartMs + IST) / (widthMin * MIN)) * widthMin * MIN - IST;
    const e = out.get(start);
    if (!e) out.set(start, { open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume, tickCount: b.tickCount });
    else {
      e.high = Math.max(e.high, b.high);
      e.low = Math.min(e.low, b.low);
      e.close = b.close;
      e.volume += b.volume;
      e.tickCount += b.tickCount;
    }
  }
  return [...out].map(([start, v]) => ({ start, ...v }));
}

const shape = (bars: Bar[]) =>
  bars.map((b) => ({
    start: b.minuteStartMs,
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    volume: b.volume,
    tickCount: b.tickCount,
  }));

describe('multi-timeframe bars', () => {
  let pool: pg.Pool;
  let schema: string;
  let info: SchemaInfo;
  let reader: HistoryReader;
  const minutes = Array.from({ length: 375 }, (_, i) => minute(i));

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_bars');
    info = await migrate(pool, schema, quietLog);
    reader = new HistoryReader(pool, schema, info.strategy);
    const b = emptyBatch();
    for (const m of minutes) addRecord(b, rec.bar(m));
    await new PgWriter(pool, schema).write(b);
  });
  after(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  const ask = (interval: string, fromMs = OPEN, toMs = OPEN + 375 * MIN) =>
    reader.bars(ctx, parseBarsRequest({ instrument: ID, fromMs, toMs, interval }));

  test('15-minute bars are the aggregation of the 1-minute bars (first open, max high, min low, last close, summed volume)', async () => {
    const got = await ask('15m');
    assert.equal(got.length, 25);
    assert.deepEqual(shape(got), expected(minutes, 15));
  });

  test('5-minute and 1-hour bars follow the same rules; a day of bars is one daily bar (IST day)', async () => {
    assert.deepEqual(shape(await ask('5m')), expected(minutes, 5));
    // 09:15 IST is not an hour boundary: the first hour bucket (09:00 IST) holds 45 minutes.
    assert.deepEqual(shape(await ask('1h', OPEN - 15 * MIN)), expected(minutes, 60));
    const day = await ask('1d', Date.UTC(2026, 10, 19, 18, 30));
    assert.equal(day.length, 1);
    assert.equal(day[0]?.minuteStartMs, Date.UTC(2026, 10, 19, 18, 30), 'midnight IST');
    assert.equal(day[0]?.open, minutes[0]?.open);
    assert.equal(day[0]?.close, minutes.at(-1)?.close);
    assert.equal(
      day[0]?.volume,
      minutes.reduce((s, m) => s + m.volume, 0),
    );
  });

  test('the current bucket is live: a bar written after the aggregate was refreshed shows at once', async () => {
    if (info.strategy === 'timescaledb') {
      await pool.query(`CALL refresh_continuous_aggregate($1::regclass, NULL, NULL)`, [`"${schema}".bars_15m`]);
    }
    const late = minute(375);
    const b = emptyBatch();
    addRecord(b, rec.bar({ ...late, high: 99_999 }));
    await new PgWriter(pool, schema).write(b);
    const got = await ask('15m', OPEN, OPEN + 400 * MIN);
    assert.equal(got.length, 26);
    assert.equal(got.at(-1)?.high, 99_999);
    assert.deepEqual(shape(got.slice(0, 25)), expected(minutes, 15));
  });
});
