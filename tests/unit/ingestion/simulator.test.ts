import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RawRecord } from '../../../services/core/messages.ts';
import { instrumentSpecSchema } from '../../../services/core/shardfile.ts';
import { bsPrice } from '../../../services/ingestion/simulator/black-scholes.ts';
import { optionSecurityId } from '../../../services/ingestion/simulator/ids.ts';
import { nextExpiries, volumeProfile } from '../../../services/ingestion/simulator/session.ts';
import { MarketSimulator, type SimulatorConfig } from '../../../services/ingestion/simulator/simulator.ts';
import { splitChain } from '../../../services/processor/chain.ts';

const instruments = [
  instrumentSpecSchema.parse({
    symbol: 'NIFTY',
    securityId: '13',
    segment: 'IDX_I',
    kind: 'index',
    simulator: { price: 26000 },
    optionChain: { expiries: 3, strikes: 21, strikeStep: 50 },
  }),
  instrumentSpecSchema.parse({
    symbol: 'HDFCBANK',
    securityId: '1333',
    segment: 'NSE_EQ',
    kind: 'equity',
    simulator: { price: 1650 },
  }),
];
// Thursday 2026-11-26 10:00 IST.
const START = Date.parse('2026-11-26T10:00:00+05:30');
const config = (seed = 7): SimulatorConfig => ({
  seed,
  ticksPerSecond: 50,
  chainSnapshotsPerSecond: 1,
  startTimeMs: START,
  instruments,
  pricing: { riskFreeRate: 0.065, dividendYield: 0 },
});
const take = (sim: MarketSimulator, n: number): { timeMs: number; key: string; record: RawRecord }[] =>
  Array.from({ length: n }, () => sim.next());

describe('simulator', () => {
  test('the same seed, instruments and start time give the same records', () => {
    assert.deepEqual(take(new MarketSimulator(config(7)), 2000), take(new MarketSimulator(config(7)), 2000));
  });

  test('a different seed gives a different path', () => {
    assert.notDeepEqual(take(new MarketSimulator(config(7)), 200), take(new MarketSimulator(config(8)), 200));
  });

  test('events come in non-decreasing simulated time at about the configured rate', () => {
    const events = take(new MarketSimulator(config()), 5000);
    for (let i = 1; i < events.length; i++) assert.ok((events[i]?.timeMs ?? 0) >= (events[i - 1]?.timeMs ?? 0));
    const ticks = events.filter((e) => e.record.payload === 'tick');
    const seconds = ((events.at(-1)?.timeMs ?? 0) - START) / 1000;
    const rate = ticks.length / seconds;
    assert.ok(rate > 40 && rate < 60, `tick rate ${rate}/s should be near 50/s`);
    const chains = events.filter((e) => e.record.payload === 'chain').length;
    assert.ok(Math.abs(chains / seconds - 3) < 0.2, `3 expiries × 1 snapshot/s, got ${chains / seconds}/s`);
  });

  test('prices stay on the tick size and near the start over a simulated hour', () => {
    const sim = new MarketSimulator(config());
    let last = 0;
    for (let i = 0; i < 200_000; i++) {
      const e = sim.next();
      if (e.record.payload === 'tick' && e.key === 'NSE_EQ:1333') {
        last = e.record.tick.lastPrice;
        assert.ok(Math.abs(Math.round(last / 0.05) * 0.05 - last) < 1e-9, `${last} is on the 0.05 grid`);
      }
    }
    assert.ok(last > 1650 * 0.8 && last < 1650 * 1.2, `price ${last} after an hour is plausible`);
  });

  test('cumulative volume never decreases and indices carry no volume', () => {
    const events = take(new MarketSimulator(config()), 3000);
    const prev = new Map<string, number>();
    for (const e of events) {
      if (e.record.payload !== 'tick') continue;
      const id = e.record.tick.instrument.id;
      if (id === 'IDX_I:13') assert.equal(e.record.tick.volume, 0);
      else {
        assert.ok(e.record.tick.volume >= (prev.get(id) ?? 0));
        prev.set(id, e.record.tick.volume);
        assert.equal(e.record.tick.depth.length, e.record.tick.meta ? 1 : 5);
      }
    }
  });

  test('option contracts tick too: keyed by their underlying, in the chain window, priced as the chains are, within the total rate', () => {
    const events = take(new MarketSimulator(config()), 20_000);
    const ticks = events.flatMap((e) =>
      e.record.payload === 'tick' ? [{ key: e.key, timeMs: e.timeMs, tick: e.record.tick }] : [],
    );
    const options = ticks.filter((t) => t.tick.meta);
    // 2 underlyings and 3 chains share the 50 ticks/s: option ticks are 3/5 of all ticks.
    const share = options.length / ticks.length;
    assert.ok(share > 0.55 && share < 0.65, `option ticks are ${share} of all ticks`);
    let spot = 26_000;
    let compared = 0;
    const lastChain = new Map<string, { timeMs: number; spot: number; price: number }>();
    for (const e of events) {
      const r = e.record;
      if (r.payload === 'chain') {
        for (const row of r.chain.rows) {
          for (const leg of [row.call, row.put]) {
            if (leg) lastChain.set(leg.instrument.id, { timeMs: e.timeMs, spot: r.chain.underlyingPrice, price: leg.lastPrice });
          }
        }
        continue;
      }
      if (r.payload !== 'tick') continue;
      if (r.tick.instrument.id === 'IDX_I:13') {
        spot = r.tick.lastPrice;
        continue;
      }
      const meta = r.tick.meta;
      if (!meta) continue;
      assert.equal(e.key, 'IDX_I:13', 'an option tick is keyed by its underlying');
      assert.equal(meta.underlying, 'IDX_I:13');
      assert.ok(Math.abs(meta.strike - spot) <= 11 * 50, `strike ${meta.strike} is in the window around ${spot}`);
      assert.equal(meta.strike % 50, 0);
      assert.equal(
        r.tick.instrument.id,
        `NSE_FNO:${optionSecurityId('IDX_I:13', meta.expiry, meta.strike, meta.optionType === 'CALL' ? 'CE' : 'PE')}`,
      );
      const c = lastChain.get(r.tick.instrument.id);
      // The chain priced the same contract on the same spot moments ago: the same price, give or take a tick.
      if (c && c.spot === spot && e.timeMs - c.timeMs < 5_000) {
        compared++;
        assert.ok(Math.abs(c.price - r.tick.lastPrice) <= 0.05 + 1e-9, `${c.price} vs ${r.tick.lastPrice}`);
      }
    }
    assert.ok(compared > 100, `${compared} option ticks compared with their chain`);
  });

  test('chain snapshots: weekly Tuesday expiries, strikes on the step around the money, puts and calls at parity', () => {
    const chain = take(new MarketSimulator(config()), 500).find((e) => e.record.payload === 'chain');
    assert.ok(chain && chain.record.payload === 'chain');
    const c = chain.record.chain;
    assert.equal(c.underlying.id, 'IDX_I:13');
    assert.equal(chain.key, 'IDX_I:13');
    assert.equal(new Date(`${c.expiry}T00:00:00Z`).getUTCDay(), 2);
    assert.equal(c.rows.length, 21);
    for (const row of c.rows) assert.equal(row.strike % 50, 0);
    const mid = c.rows[10];
    assert.ok(mid && Math.abs(mid.strike - c.underlyingPrice) <= 50);
    // Put–call parity holds to within the quoting tick: C − P ≈ S − K·e^(−rT).
    const t = (Date.parse(`${c.expiry}T15:30:00+05:30`) - c.exchangeTimeMs) / (365 * 86_400_000);
    const lhs = (mid.call?.lastPrice ?? 0) - (mid.put?.lastPrice ?? 0);
    const rhs = c.underlyingPrice - mid.strike * Math.exp(-0.065 * t);
    assert.ok(Math.abs(lhs - rhs) < 0.2, `parity: ${lhs} vs ${rhs}`);
    // The smile is skewed: an OTM put trades at a higher vol than the equally OTM call.
    const lowPut = c.rows[2]?.put?.sourceIv ?? 0;
    const highCall = c.rows[18]?.call?.sourceIv ?? 0;
    assert.ok(lowPut > highCall, `skew: put ${lowPut} > call ${highCall}`);
  });

  test('option security ids are deterministic and unique within a chain', () => {
    assert.equal(
      optionSecurityId('IDX_I:13', '2026-12-01', 26000, 'CE'),
      optionSecurityId('IDX_I:13', '2026-12-01', 26000, 'CE'),
    );
    const ids = new Set<string>();
    for (let k = 20000; k < 32000; k += 50) {
      for (const type of ['CE', 'PE'] as const) ids.add(optionSecurityId('IDX_I:13', '2026-12-01', k, type));
    }
    assert.equal(ids.size, 480);
  });
});

describe('session and pricing', () => {
  test('Black–Scholes reproduces the reference values (S=42 K=40 r=0.10 σ=0.20 T=0.5)', () => {
    const p = { spot: 42, strike: 40, time: 0.5, rate: 0.1, dividendYield: 0, volatility: 0.2 };
    assert.equal(bsPrice({ ...p, call: true }).toFixed(4), '4.7594');
    assert.equal(bsPrice({ ...p, call: false }).toFixed(4), '0.8086');
  });

  test('weekly expiries are the next Tuesdays; an expiry day counts until 15:30 IST', () => {
    assert.deepEqual(nextExpiries(Date.parse('2026-11-24T10:00:00+05:30'), 2, { weekday: 2, monthly: false }), [
      '2026-11-24',
      '2026-12-01',
    ]);
    assert.deepEqual(nextExpiries(Date.parse('2026-11-24T15:31:00+05:30'), 1, { weekday: 2, monthly: false }), ['2026-12-01']);
  });

  test('monthly expiries are the last Tuesday of each month', () => {
    assert.deepEqual(nextExpiries(Date.parse('2026-11-02T10:00:00+05:30'), 2, { weekday: 2, monthly: true }), [
      '2026-11-24',
      '2026-12-29',
    ]);
  });

  test('the volume profile is U-shaped over the session', () => {
    const at = (hhmm: string): number => volumeProfile(Date.parse(`2026-11-26T${hhmm}:00+05:30`));
    assert.ok(at('09:16') > at('12:30'));
    assert.ok(at('15:25') > at('12:30'));
  });
});

describe('simulator open interest', () => {
  test('writers hold OTM calls above the spot and OTM puts below, so every chain has a zero-gamma level near the money', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const chains = take(new MarketSimulator(config(seed)), 600).filter((e) => e.record.payload === 'chain');
      assert.ok(chains.length >= 3, `seed ${seed}: ${chains.length} chain snapshots`);
      for (const e of chains.slice(0, 3)) {
        assert.ok(e.record.payload === 'chain');
        const c = e.record.chain;
        const { gex } = splitChain(c, c.exchangeTimeMs, { riskFreeRate: 0.065, dividendYield: 0 });
        assert.ok(gex, `seed ${seed} ${c.expiry}: GEX computed`);
        assert.ok(gex.zeroGammaAvailable, `seed ${seed} ${c.expiry}: net GEX changes sign`);
        assert.ok(
          Math.abs(gex.zeroGammaLevel / c.underlyingPrice - 1) < 0.05,
          `seed ${seed} ${c.expiry}: zero gamma ${gex.zeroGammaLevel} within 5% of spot ${c.underlyingPrice}`,
        );
      }
    }
  });
});
