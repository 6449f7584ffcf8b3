import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseScripMaster } from '../../../services/ingestion/dhan/scrip-master.ts';
import {
  buildLadders,
  hysteresisBand,
  type Ladder,
  nearestStrikeIndex,
  nextCentre,
  StrikeWindows,
  windowBounds,
} from '../../../services/ingestion/dhan/strike-window.ts';
import { SCALE } from '../property-seed.ts';

const HEADER =
  'SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID,SEM_INSTRUMENT_NAME,SEM_TRADING_SYMBOL,SEM_LOT_UNITS,SEM_EXPIRY_DATE,SEM_STRIKE_PRICE,SEM_OPTION_TYPE,SEM_TICK_SIZE';

/** A scrip master with NIFTY options: strikes 25000..27000 step 50 for each expiry. */
function master(expiries: string[]) {
  const lines = [HEADER, 'NSE,I,13,INDEX,NIFTY,1,,,,0.05'];
  let id = 40_000;
  for (const e of expiries) {
    for (let k = 25_000; k <= 27_000; k += 50) {
      for (const t of ['CE', 'PE'])
        lines.push(`NSE,D,${id++},OPTIDX,NIFTY-${e}-${k}-${t},75,${e} 14:30:00,${k}.00000,${t},0.0500`);
    }
  }
  // Another underlying's options and a future must not leak in.
  lines.push('NSE,D,99001,OPTIDX,BANKNIFTY-2026-12-29-52000-CE,30,2026-12-29 14:30:00,52000,CE,0.05');
  lines.push('NSE,D,99002,FUTIDX,NIFTY-Dec2026-FUT,75,2026-12-29 14:30:00,-0.01,XX,0.1');
  return parseScripMaster(lines.join('\n'));
}

const spec = {
  underlyingId: 'IDX_I:13',
  underlyingSymbol: 'NIFTY',
  optionSegment: 'NSE_FNO' as const,
  expiries: 2,
  strikes: 10,
  lotSize: 75,
};

describe('strike window (pure)', () => {
  test('ladders are the configured number of expiries on or after today, strikes ascending, CE and PE from the scrip master', () => {
    const ladders = buildLadders(master(['2026-11-24', '2026-12-01', '2026-12-08', '2026-12-15']), spec, '2026-11-30');
    assert.deepEqual(
      ladders.map((l) => l.expiry),
      ['2026-12-01', '2026-12-08'],
    );
    const l = ladders[0] as Ladder;
    assert.equal(l.strikes.length, 41);
    assert.equal(l.strikes[0], 25_000);
    assert.deepEqual(
      l.legs[0]?.map((c) => [c.optionType, c.lotSize, c.tickSize, c.symbol]),
      [
        ['CE', 75, 0.05, 'NIFTY 2026-12-01 25000 CE'],
        ['PE', 75, 0.05, 'NIFTY 2026-12-01 25000 PE'],
      ],
    );
    assert.equal(l.legs[0]?.[0]?.underlyingId, 'IDX_I:13');
    assert.equal(l.band, hysteresisBand(10));
  });

  test('the nearest strike is the one closest to the spot', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0.01, max: 120_000, noNaN: true }),
        (raw, spot) => {
          const strikes = [...raw].sort((a, b) => a - b);
          const i = nearestStrikeIndex(strikes, spot);
          const best = Math.min(...strikes.map((k) => Math.abs(k - spot)));
          assert.equal(Math.abs((strikes[i] as number) - spot), best);
        },
      ),
      { numRuns: 2_000 * SCALE },
    );
  });

  test('the window holds min(size, strikes) strikes, inside the ladder, around the centre', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (count, size, c) => {
        const centre = c % count;
        const { lo, hi } = windowBounds(count, centre, size);
        assert.equal(hi - lo, Math.min(size, count));
        assert.ok(lo >= 0 && hi <= count);
        assert.ok(centre >= lo && centre < hi);
      }),
      { numRuns: 2_000 * SCALE },
    );
  });

  test('a spot hovering around the midpoint between two strikes never moves the window (hysteresis)', () => {
    const strikes = Array.from({ length: 41 }, (_, i) => 25_000 + i * 50);
    let centre = nextCentre(strikes, 26_025.1, undefined, 2);
    const start = centre;
    for (const s of [26_024.9, 26_025.1, 26_020, 26_030, 26_074, 25_976, 26_025]) {
      centre = nextCentre(strikes, s, centre, 2);
      assert.equal(centre, start);
    }
    // Three strikes up is beyond the band of 2: the window re-centres on the new nearest strike.
    assert.equal(nextCentre(strikes, 26_160, centre, 2), start, 'two strikes up: still inside the band');
    assert.equal(nextCentre(strikes, 26_210, centre, 2), nearestStrikeIndex(strikes, 26_210));
  });

  test('any spot path: diffs replay to the subscribed set, never above capacity, the money always inside each window', () => {
    const ladders = buildLadders(master(['2026-12-01', '2026-12-08']), spec, '2026-11-30');
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 24_000, max: 28_000, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 60 }),
        (spots, capacity) => {
          const w = new StrikeWindows(ladders, capacity);
          const replay = new Set<string>();
          for (const s of spots) {
            const d = w.spot('IDX_I:13', s);
            for (const c of d.unsubscribe) assert.ok(replay.delete(c.id), 'only what was subscribed is unsubscribed');
            for (const c of d.subscribe) {
              assert.ok(!replay.has(c.id), 'nothing is subscribed twice');
              replay.add(c.id);
            }
            assert.deepEqual(
              [...replay].sort(),
              w
                .subscribed()
                .map((c) => c.id)
                .sort(),
            );
            assert.ok(replay.size <= capacity);
            assert.equal(w.refused, Math.max(0, 40 - capacity), 'two expiries × 10 strikes × CE/PE, the rest refused');
            if (capacity >= 40) {
              for (const l of ladders) {
                const atm = l.strikes[nearestStrikeIndex(l.strikes, s)] as number;
                assert.ok(
                  w.subscribed().some((c) => c.expiry === l.expiry && c.strike === atm),
                  `the strike nearest ${s} is subscribed`,
                );
              }
            }
          }
        },
      ),
      { numRuns: 500 * SCALE },
    );
  });

  test('a spot move of several strikes subscribes the new strikes and unsubscribes the far ones; the way back too', () => {
    const ladders = buildLadders(master(['2026-12-01']), { ...spec, expiries: 1 }, '2026-11-30');
    const w = new StrikeWindows(ladders, 5_000);
    const first = w.spot('IDX_I:13', 26_010);
    assert.equal(first.subscribe.length, 20);
    assert.deepEqual(
      [...new Set(first.subscribe.map((c) => c.strike))].sort((a, b) => a - b),
      [25_800, 25_850, 25_900, 25_950, 26_000, 26_050, 26_100, 26_150, 26_200, 26_250],
    );
    assert.deepEqual(w.spot('IDX_I:13', 26_090), { subscribe: [], unsubscribe: [] }, 'within the band: no change');
    const moved = w.spot('IDX_I:13', 26_260);
    const strikes = (cs: { strike: number }[]) => [...new Set(cs.map((c) => c.strike))].sort((a, b) => a - b);
    assert.deepEqual(strikes(moved.subscribe), [26_300, 26_350, 26_400, 26_450, 26_500]);
    assert.deepEqual(strikes(moved.unsubscribe), [25_800, 25_850, 25_900, 25_950, 26_000]);
    assert.equal(w.subscribed().length, 20);
    assert.deepEqual(w.spot('IDX_I:9999', 1), { subscribe: [], unsubscribe: [] }, 'an instrument no window follows');
    assert.deepEqual(w.spot('IDX_I:13', Number.NaN), { subscribe: [], unsubscribe: [] });
    assert.equal(w.contract(moved.subscribe[0]?.id ?? '')?.expiry, '2026-12-01');
  });
});
