import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BarBuilder, type BarEvent, type BarTick } from '../../../services/processor/bars.ts';
import { normaliseTime, roundToTick, timeToExpiryYears } from '../../../services/processor/normalise.ts';

const T0 = Date.UTC(2026, 2, 2, 4, 0, 0);
let offset = 0;
const tick = (sec: number, price: number, volume: number, qty = 1): BarTick => ({
  instrumentId: 'NSE_EQ:1',
  timeMs: T0 + sec * 1000,
  price,
  cumulativeVolume: volume,
  lastQuantity: qty,
  openInterest: 0,
  offset: offset++,
});
const bars = (events: BarEvent[]) => events.flatMap((e) => (e.kind === 'emit' ? [e.bar] : []));

describe('one-minute bars', () => {
  test('a minute closes (final) when the instrument’s event time enters the next minute', () => {
    const b = new BarBuilder();
    b.onTick(tick(1, 100, 10));
    b.onTick(tick(20, 105, 15));
    b.onTick(tick(40, 98, 22));
    const out = bars(b.onTick(tick(61, 101, 30)));
    const final = out.find((x) => x.final);
    assert.ok(final);
    assert.deepEqual([final.open, final.high, final.low, final.close, final.volume, final.tickCount], [100, 105, 98, 98, 13, 3]);
    assert.equal(final.volumeCumStart, 9);
    assert.equal(final.volumeCumEnd, 22);
  });
  test('partial updates go out at most once per second of event time', () => {
    const b = new BarBuilder();
    const partials = [0, 0.2, 0.4, 0.6, 0.8, 1.1, 1.3].flatMap((s, i) => bars(b.onTick(tick(s, 100 + i, i + 1))));
    assert.equal(partials.filter((x) => !x.final).length, 2);
  });
  test('a late tick within the grace period amends its closed bar and re-emits it', () => {
    const b = new BarBuilder({ graceMs: 5000 });
    b.onTick(tick(10, 100, 1));
    b.onTick(tick(61, 101, 2));
    const amended = bars(b.onTick(tick(59, 110, 2)));
    assert.equal(amended.length, 1);
    assert.equal(amended[0]?.final, true);
    assert.equal(amended[0]?.high, 110);
    assert.equal(amended[0]?.close, 110);
  });
  test('a tick later than the grace period is dropped from bars', () => {
    const b = new BarBuilder({ graceMs: 5000 });
    b.onTick(tick(10, 100, 1));
    b.onTick(tick(70, 101, 2));
    const events = b.onTick(tick(59, 110, 2));
    assert.deepEqual(events, [{ kind: 'late-dropped', instrumentId: 'NSE_EQ:1' }]);
  });
  test('the same ticks in the same order give the same bars (replays are deterministic)', () => {
    const run = () => {
      offset = 0;
      const b = new BarBuilder();
      return [1, 2, 30, 59, 61, 90, 125].flatMap((s, i) => bars(b.onTick(tick(s, 100 + (i % 3), i * 5))));
    };
    assert.deepEqual(run(), run());
  });
  test('commits are held back to the first record of a bar still open', () => {
    offset = 100;
    const b = new BarBuilder();
    b.onTick(tick(1, 100, 1));
    b.onTick(tick(2, 100, 2));
    assert.equal(b.oldestOffsetHeld(), 100);
  });
});

describe('normalisation', () => {
  test('an IST wall-clock epoch encoded as UTC is moved back by 5h30', () => {
    assert.equal(normaliseTime(T0 + 19_800_000, T0 + 50), T0);
  });
  test('second epochs become milliseconds and a missing exchange time falls back to receipt', () => {
    assert.equal(normaliseTime(T0 / 1000, T0 + 10), T0);
    assert.equal(normaliseTime(0, T0), T0);
    assert.equal(normaliseTime(0, 0), undefined);
  });
  test('prices round to the tick size', () => {
    assert.equal(roundToTick(22050.337, 0.05), 22050.35);
    assert.equal(roundToTick(101.04, 0.1), 101);
  });
  test('time to expiry runs to 15:30 IST on the expiry date', () => {
    assert.equal(timeToExpiryYears('2026-03-05', Date.UTC(2026, 2, 5, 9, 0)), 3_600_000 / (365 * 86_400_000));
    assert.equal(timeToExpiryYears('2026-03-05', Date.UTC(2026, 2, 6)), 0);
    assert.equal(timeToExpiryYears('2026-02-30', 0), undefined);
  });
});
