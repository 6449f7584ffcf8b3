// The market simulator: a believable NSE session as a pure, deterministic stream of RawRecords.
// Underlyings move by geometric Brownian motion; traded quantity follows a U-shaped intraday
// profile; option chains (several weekly or monthly expiries, strikes around the money, a skewed
// smile) are priced with Black–Scholes on the current spot. Option contracts also tick one by one
// (as a live feed streams them), priced by the same smile on the last published spot and keyed by
// their underlying. The sequence of records is a function of the seed, the instruments and the
// simulated start time only — pacing is the caller's job.
//
// Rates: ticksPerSecond is every tick of the shard, option ticks included. Each underlying without
// a rate of its own and each chain (underlying × expiry, whose ticks fall on the contracts of its
// strike window) take an equal share of what the explicit rates leave.
import { instrumentId, type OptionChainSnapshot, type RawRecord, type Tick } from '../../core/messages.ts';
import { SCHEMA_VERSION } from '../../core/proto.ts';
import type { InstrumentSpec } from '../../core/shardfile.ts';
import { hash53 } from '../../core/sharding.ts';
import { SeqClock } from '../seq.ts';
import { bsPrice } from './black-scholes.ts';
import { optionSecurityId } from './ids.ts';
import { Prng } from './prng.ts';
import { defaultStrikeStep, expiryCloseMs, nextExpiries, TRADING_SECONDS_PER_YEAR, volumeProfile } from './session.ts';

export interface SimulatorConfig {
  seed: number;
  /** Total ticks per second across instruments without their own rate. */
  ticksPerSecond: number;
  /** Chain snapshots per second per underlying and expiry. */
  chainSnapshotsPerSecond: number;
  startTimeMs: number;
  instruments: readonly InstrumentSpec[];
  pricing: { riskFreeRate: number; dividendYield: number };
}

export interface SimEvent {
  /** Simulated time of the event (UTC ms). */
  timeMs: number;
  /** Kafka key: the instrument id, or the underlying id for a chain snapshot. */
  key: string;
  record: RawRecord;
}

interface Underlying {
  spec: InstrumentSpec;
  id: string;
  rate: number;
  nextAt: number;
  price: number;
  vol: number;
  prevClose: number;
  open: number;
  high: number;
  low: number;
  volume: number;
  turnover: number;
  oi: number;
  totalBuy: number;
  totalSell: number;
  /** Simulated time its price was last stepped to. */
  lastStepMs: number;
}

interface Chain {
  under: Underlying;
  /** As parsed from the shard file, defaults filled in there. */
  spec: NonNullable<InstrumentSpec['optionChain']>;
  expiry: string;
  periodMs: number;
  nextAt: number;
  step: number;
  /** Option ticks per second over the chain's contracts, and when the next one is due. */
  tickRate: number;
  nextTickAt: number;
}

/** One contract priced on a spot: what a chain leg and an option tick both carry. */
interface Priced {
  id: string;
  securityId: string;
  symbol: string;
  type: 'CE' | 'PE';
  state: Contract;
  vol: number;
  last: number;
  bid: number;
  ask: number;
}

interface Contract {
  oi: number;
  volume: number;
}

/** Where open interest peaks, in log-moneyness: calls this far above the spot, puts this far below. */
const OI_SKEW = 0.02;
const round = (v: number, step: number): number => Math.round(v / step) * step;
const toTick = (v: number, tick: number): number => Number((Math.round(v / tick) * tick).toFixed(6));

function defaultPrice(spec: InstrumentSpec): number {
  // A stable, plausible price per instrument when the shard file gives none.
  const h = hash53(spec.symbol) % 1000;
  return spec.kind === 'index' ? 10_000 + h * 40 : 100 + h * 3;
}

export class MarketSimulator {
  private readonly rng: Prng;
  private readonly seq = new SeqClock();
  private readonly underlyings: Underlying[] = [];
  private readonly chains: Chain[] = [];
  private readonly contracts = new Map<string, Contract>();
  private readonly cfg: SimulatorConfig;

  constructor(cfg: SimulatorConfig) {
    this.cfg = cfg;
    this.rng = new Prng(cfg.seed);
    const explicit = cfg.instruments.filter((i) => i.simulator?.ticksPerSecond !== undefined);
    const explicitSum = explicit.reduce((s, i) => s + (i.simulator?.ticksPerSecond ?? 0), 0);
    const chainCount = cfg.instruments.reduce((s, i) => s + (i.optionChain?.expiries ?? 0), 0);
    const shared = cfg.instruments.length - explicit.length + chainCount;
    const sharedRate = shared > 0 ? Math.max(0.01, (cfg.ticksPerSecond - explicitSum) / shared) : 0;
    for (const spec of cfg.instruments) {
      const price = spec.simulator?.price ?? defaultPrice(spec);
      const rate = spec.simulator?.ticksPerSecond ?? sharedRate;
      const u: Underlying = {
        spec,
        id: instrumentId(spec.segment, spec.securityId),
        rate,
        nextAt: cfg.startTimeMs + this.rng.exponential(rate) * 1000,
        price,
        vol: spec.simulator?.volatility ?? (spec.kind === 'equity' ? 0.28 : 0.14),
        prevClose: price,
        open: price,
        high: price,
        low: price,
        volume: 0,
        turnover: 0,
        oi: spec.kind === 'future' ? spec.lotSize * this.rng.int(20_000, 80_000) : 0,
        totalBuy: 0,
        totalSell: 0,
        lastStepMs: cfg.startTimeMs,
      };
      this.underlyings.push(u);
      const oc = spec.optionChain;
      if (oc) {
        const isBse = spec.segment.startsWith('BSE') || oc.segment === 'BSE_FNO';
        const expiries = nextExpiries(cfg.startTimeMs, oc.expiries, {
          weekday: isBse ? 4 : 2,
          monthly: spec.kind === 'equity',
        });
        const periodMs = 1000 / cfg.chainSnapshotsPerSecond;
        expiries.forEach((expiry, i) => {
          this.chains.push({
            under: u,
            spec: oc,
            expiry,
            periodMs,
            // Staggered so that snapshots of one underlying do not all land on the same instant.
            nextAt: cfg.startTimeMs + ((i + 1) * periodMs) / (expiries.length + 1),
            step: oc.strikeStep ?? defaultStrikeStep(price),
            tickRate: sharedRate,
            nextTickAt: cfg.startTimeMs + this.rng.exponential(sharedRate) * 1000,
          });
        });
      }
    }
    if (this.underlyings.length === 0) throw new Error('simulator: the shard has no instruments to simulate');
  }

  /** How many underlyings this simulator moves. */
  get instrumentCount(): number {
    return this.underlyings.length;
  }

  /** The next event in simulated time (the stream never ends). */
  next(): SimEvent {
    let tickIdx = -1;
    let tickAt = Number.POSITIVE_INFINITY;
    this.underlyings.forEach((u, i) => {
      if (u.nextAt < tickAt) {
        tickAt = u.nextAt;
        tickIdx = i;
      }
    });
    let chainIdx = -1;
    let chainAt = Number.POSITIVE_INFINITY;
    this.chains.forEach((c, i) => {
      if (c.nextAt < chainAt) {
        chainAt = c.nextAt;
        chainIdx = i;
      }
    });
    let optIdx = -1;
    let optAt = Number.POSITIVE_INFINITY;
    this.chains.forEach((c, i) => {
      if (c.nextTickAt < optAt) {
        optAt = c.nextTickAt;
        optIdx = i;
      }
    });
    if (chainIdx >= 0 && chainAt <= tickAt && chainAt <= optAt) {
      const chain = this.chains[chainIdx] as Chain;
      chain.nextAt += chain.periodMs;
      return this.snapshot(chain, chainAt);
    }
    if (optIdx >= 0 && optAt < tickAt) {
      const chain = this.chains[optIdx] as Chain;
      chain.nextTickAt = optAt + this.rng.exponential(chain.tickRate) * 1000;
      return this.optionTick(chain, optAt);
    }
    const u = this.underlyings[tickIdx] as Underlying;
    u.nextAt = tickAt + this.rng.exponential(u.rate) * 1000;
    // Each underlying steps over the time since its own last step: option ticks and snapshots in
    // between leave its volatility intact.
    const dtSeconds = Math.max(0, tickAt - u.lastStepMs) / 1000;
    u.lastStepMs = tickAt;
    return this.tick(u, tickAt, dtSeconds);
  }

  private step(u: Underlying, dtSeconds: number): void {
    const dt = Math.max(dtSeconds, 0.001) / TRADING_SECONDS_PER_YEAR;
    const z = this.rng.normal();
    const next = u.price * Math.exp(-0.5 * u.vol * u.vol * dt + u.vol * Math.sqrt(dt) * z);
    u.price = Math.max(u.spec.tickSize, next);
  }

  private tick(u: Underlying, timeMs: number, dtSeconds: number): SimEvent {
    this.step(u, dtSeconds);
    const tick = u.spec.tickSize;
    const last = toTick(u.price, tick);
    u.high = Math.max(u.high, last);
    u.low = Math.min(u.low, last);
    const traded = u.spec.kind !== 'index';
    let qty = 0;
    const depth: Tick['depth'] = [];
    if (traded) {
      const lots = Math.max(1, Math.round(this.rng.exponential(1 / 8) * volumeProfile(timeMs)));
      qty = lots * u.spec.lotSize;
      u.volume += qty;
      u.turnover += qty * last;
      const spread = Math.max(tick, toTick(last * 0.0004, tick));
      for (let level = 0; level < 5; level++) {
        depth.push({
          bidPrice: toTick(last - spread * (level + 0.5), tick),
          bidQuantity: u.spec.lotSize * this.rng.int(1, 200),
          bidOrders: this.rng.int(1, 40),
          askPrice: toTick(last + spread * (level + 0.5), tick),
          askQuantity: u.spec.lotSize * this.rng.int(1, 200),
          askOrders: this.rng.int(1, 40),
        });
      }
      u.totalBuy = depth.reduce((s, d) => s + d.bidQuantity, 0) * 20;
      u.totalSell = depth.reduce((s, d) => s + d.askQuantity, 0) * 20;
      if (u.spec.kind === 'future') u.oi = Math.max(0, u.oi + u.spec.lotSize * this.rng.int(-5, 6));
    }
    const t = Math.floor(timeMs);
    const record: RawRecord = {
      schemaVersion: SCHEMA_VERSION,
      payload: 'tick',
      tick: {
        instrument: { id: u.id, symbol: u.spec.symbol, segment: u.spec.segment, securityId: u.spec.securityId },
        exchangeTimeMs: t,
        receivedTimeMs: t,
        seq: this.seq.next(u.id, t),
        lastPrice: last,
        lastQuantity: qty,
        volume: u.volume,
        openInterest: u.oi,
        averagePrice: u.volume > 0 ? Number((u.turnover / u.volume).toFixed(4)) : 0,
        open: u.open,
        high: u.high,
        low: u.low,
        close: u.prevClose,
        totalBuyQuantity: u.totalBuy,
        totalSellQuantity: u.totalSell,
        depth,
        meta: null,
        source: 'simulator',
      },
    };
    return { timeMs, key: u.id, record };
  }

  private smileVol(atm: number, spot: number, strike: number): number {
    const m = Math.log(strike / spot);
    const v = atm * (1 - 1.2 * m + 6 * m * m);
    return Math.min(3 * atm, Math.max(0.5 * atm, v));
  }

  /** The chain's strikes around the money of `spot`, on its step. */
  private windowStrikes(chain: Chain, spot: number): number[] {
    const atm = round(spot, chain.step);
    const first = atm - Math.floor((chain.spec.strikes - 1) / 2) * chain.step;
    const strikes: number[] = [];
    for (let i = 0; i < chain.spec.strikes; i++) {
      const strike = Number((first + i * chain.step).toFixed(4));
      if (strike > 0) strikes.push(strike);
    }
    return strikes;
  }

  /** A contract of the chain priced by the smile on `spot` at `timeMs`; its OI and volume move on. */
  private price(chain: Chain, spot: number, strike: number, call: boolean, timeMs: number): Priced {
    const u = chain.under;
    const { segment, lotSize } = chain.spec;
    const years = Math.max(1e-6, (expiryCloseMs(chain.expiry) - timeMs) / (365 * 86_400_000));
    const vol = this.smileVol(u.vol * 1.05, spot, strike);
    const type = call ? 'CE' : 'PE';
    const securityId = optionSecurityId(u.id, chain.expiry, strike, type);
    const id = instrumentId(segment, securityId);
    let state = this.contracts.get(id);
    if (!state) {
      // Open interest sits out of the money, as writers leave it: calls above the spot, puts below.
      // So net GEX is negative under the spot and positive over it, and the chain has a zero-gamma
      // level near the money (a symmetric draw left it to chance whether one existed at all).
      const moneyness = Math.log(strike / spot) - (call ? OI_SKEW : -OI_SKEW);
      const base = 5_000 * Math.exp(-((moneyness / 0.04) ** 2)) * (0.5 + this.rng.next());
      state = { oi: lotSize * (10 + Math.round(base)), volume: 0 };
      this.contracts.set(id, state);
    }
    const fair = bsPrice({
      spot,
      strike,
      time: years,
      rate: this.cfg.pricing.riskFreeRate,
      dividendYield: this.cfg.pricing.dividendYield,
      volatility: vol,
      call,
    });
    const last = Math.max(0.05, toTick(fair, 0.05));
    const half = Math.max(0.05, toTick(last * 0.002, 0.05));
    return {
      id,
      securityId,
      symbol: `${u.spec.symbol} ${chain.expiry} ${strike} ${type}`,
      type,
      state,
      vol,
      last,
      bid: Math.max(0.05, toTick(last - half, 0.05)),
      ask: toTick(last + half, 0.05),
    };
  }

  private snapshot(chain: Chain, timeMs: number): SimEvent {
    const u = chain.under;
    const spec = u.spec;
    const { segment, lotSize } = chain.spec;
    const spot = toTick(u.price, spec.tickSize);
    const profile = volumeProfile(timeMs);
    const rows: OptionChainSnapshot['rows'] = [];
    for (const strike of this.windowStrikes(chain, spot)) {
      const leg = (call: boolean) => {
        const p = this.price(chain, spot, strike, call, timeMs);
        const c = p.state;
        c.oi = Math.max(0, c.oi + lotSize * this.rng.int(-5, 10));
        c.volume += lotSize * Math.round(this.rng.int(0, 50) * profile);
        return {
          instrument: { id: p.id, symbol: p.symbol, segment, securityId: p.securityId },
          lastPrice: p.last,
          bidPrice: p.bid,
          askPrice: p.ask,
          bidQuantity: lotSize * this.rng.int(1, 40),
          askQuantity: lotSize * this.rng.int(1, 40),
          openInterest: c.oi,
          volume: c.volume,
          sourceIv: Number((p.vol * 100).toFixed(4)),
        };
      };
      rows.push({ strike, call: leg(true), put: leg(false) });
    }
    const t = Math.floor(timeMs);
    const seqKey = `${u.id}|${chain.expiry}`;
    const record: RawRecord = {
      schemaVersion: SCHEMA_VERSION,
      payload: 'chain',
      chain: {
        underlying: { id: u.id, symbol: spec.symbol, segment: spec.segment, securityId: spec.securityId },
        expiry: chain.expiry,
        exchangeTimeMs: t,
        receivedTimeMs: t,
        seq: this.seq.next(seqKey, t),
        underlyingPrice: spot,
        lotSize,
        rows,
        source: 'simulator',
      },
    };
    return { timeMs, key: u.id, record };
  }

  /**
   * A trade in one contract of the chain's window (strike and right drawn at random), priced by the
   * smile on the last published spot, as a live feed would stream it: keyed by the underlying, so
   * it reaches the processor partition holding that spot.
   */
  private optionTick(chain: Chain, timeMs: number): SimEvent {
    const u = chain.under;
    const { segment, lotSize } = chain.spec;
    const spot = toTick(u.price, u.spec.tickSize);
    const strikes = this.windowStrikes(chain, spot);
    const strike = strikes[this.rng.int(0, strikes.length - 1)] ?? round(spot, chain.step);
    const call = this.rng.next() < 0.5;
    const p = this.price(chain, spot, strike, call, timeMs);
    const qty = lotSize * Math.max(1, Math.round(this.rng.exponential(1 / 4) * volumeProfile(timeMs)));
    p.state.volume += qty;
    const t = Math.floor(timeMs);
    const record: RawRecord = {
      schemaVersion: SCHEMA_VERSION,
      payload: 'tick',
      tick: {
        instrument: { id: p.id, symbol: p.symbol, segment, securityId: p.securityId },
        exchangeTimeMs: t,
        receivedTimeMs: t,
        seq: this.seq.next(p.id, t),
        lastPrice: p.last,
        lastQuantity: qty,
        volume: p.state.volume,
        openInterest: p.state.oi,
        averagePrice: p.last,
        open: 0,
        high: 0,
        low: 0,
        close: 0,
        totalBuyQuantity: 0,
        totalSellQuantity: 0,
        depth: [
          {
            bidPrice: p.bid,
            bidQuantity: lotSize * this.rng.int(1, 40),
            bidOrders: this.rng.int(1, 20),
            askPrice: p.ask,
            askQuantity: lotSize * this.rng.int(1, 40),
            askOrders: this.rng.int(1, 20),
          },
        ],
        meta: {
          underlying: u.id,
          expiry: chain.expiry,
          strike,
          optionType: call ? 'CALL' : 'PUT',
          lotSize,
          tickSize: 0.05,
        },
        source: 'simulator',
      },
    };
    return { timeMs, key: u.id, record };
  }
}
