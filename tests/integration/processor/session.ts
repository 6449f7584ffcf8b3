// A seeded simulated session for the processor's integration tests: raw ticks of two
// instruments, option-chain snapshots of one underlying, a few bad records, and independent
// reference computations (bisection IV, closed-form Greeks, bars from ticks) to check against.
import type { Bar, RawRecord, Tick } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import type { ShardFile } from '../../../services/core/shardfile.ts';

export const START_MS = Date.UTC(2026, 2, 2, 4, 0, 0); // 09:30 IST
export const EXPIRY = '2026-03-05';
export const EXPIRY_MS = Date.UTC(2026, 2, 5, 10, 0, 0); // 15:30 IST
export const RATE = 0.065;
export const DIVIDEND_YIELD = 0.01;

export function shardFile(feed: string, namespace: string): ShardFile {
  return {
    feed,
    namespace,
    shard: 0,
    shardCount: 1,
    source: { type: 'simulator', seed: 1, ticksPerSecond: 10, chainSnapshotsPerSecond: 1 },
    kafka: { partitionsPerShard: 2, replicationFactor: 1 },
    pricing: { riskFreeRate: RATE, dividendYield: DIVIDEND_YIELD },
    retentionDays: 30,
    instruments: [
      {
        symbol: 'NIFTY',
        securityId: '13',
        segment: 'IDX_I',
        kind: 'index',
        tickSize: 0.05,
        lotSize: 1,
        optionChain: { expiries: 1, strikes: 6, segment: 'NSE_FNO', lotSize: 75 },
      },
      { symbol: 'RELIANCE', securityId: '2885', segment: 'NSE_EQ', kind: 'equity', tickSize: 0.1, lotSize: 1 },
    ],
  };
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// An independent normal CDF: erf by its Taylor series (|x| < 3) or erfc by a continued fraction.
function erfcRef(x: number): number {
  if (x < 0) return 2 - erfcRef(-x);
  if (x < 3) {
    let sum = 0;
    let term = x;
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1);
      term *= (-x * x) / (n + 1);
      if (Math.abs(term) < 1e-18) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) evaluated from the tail.
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
const cdf = (x: number): number => 0.5 * erfcRef(-x / Math.SQRT2);
const pdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

export function refPrice(S: number, K: number, T: number, sigma: number, call: boolean): number {
  const sd = sigma * Math.sqrt(T);
  const d1 = (Math.log(S / K) + (RATE - DIVIDEND_YIELD) * T) / sd + sd / 2;
  const d2 = d1 - sd;
  const a = S * Math.exp(-DIVIDEND_YIELD * T);
  const b = K * Math.exp(-RATE * T);
  return call ? a * cdf(d1) - b * cdf(d2) : b * cdf(-d2) - a * cdf(-d1);
}

/** Bisection IV in [1e-4, 5]; undefined where the price is outside what any such σ gives. */
export function refIv(S: number, K: number, T: number, price: number, call: boolean): number | undefined {
  let lo = 1e-4;
  let hi = 5;
  if (!(price > refPrice(S, K, T, lo, call)) || !(price < refPrice(S, K, T, hi, call))) return undefined;
  for (let i = 0; i < 200 && hi - lo > 1e-14; i++) {
    const mid = 0.5 * (lo + hi);
    if (refPrice(S, K, T, mid, call) < price) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

export function refGreeks(S: number, K: number, T: number, sigma: number, call: boolean) {
  const sd = sigma * Math.sqrt(T);
  const d1 = (Math.log(S / K) + (RATE - DIVIDEND_YIELD) * T) / sd + sd / 2;
  const dq = Math.exp(-DIVIDEND_YIELD * T);
  return {
    delta: call ? dq * cdf(d1) : -dq * cdf(-d1),
    gamma: (dq * pdf(d1)) / (S * sd),
    vega: (S * dq * pdf(d1) * Math.sqrt(T)) / 100,
  };
}

export const round = (p: number, tick: number): number => Number((Math.round(p / tick) * tick).toFixed(4));

const rawCodec = codec<RawRecord>('RawRecord');

export interface RawMessage {
  key: string;
  value: Buffer;
}

export interface Session {
  messages: RawMessage[];
  ticks: Tick[];
  chains: number;
  legsPerChain: number;
  bad: { reason: string; count: number }[];
}

const STRIKES = [21800, 21900, 22000, 22100, 22200, 22300];

/** `seconds` of session: ~5 ticks/s per instrument, a chain every 5 s, four bad records. */
export function generateSession(seed: number, seconds: number): Session {
  const r = rng(seed);
  const messages: RawMessage[] = [];
  const ticks: Tick[] = [];
  const state = [
    { id: 'IDX_I:13', symbol: 'NIFTY', segment: 'IDX_I' as const, securityId: '13', price: 22_050, volume: 0, seq: 0 },
    { id: 'NSE_EQ:2885', symbol: 'RELIANCE', segment: 'NSE_EQ' as const, securityId: '2885', price: 2_950, volume: 1000, seq: 0 },
  ];
  let chains = 0;
  let chainSeq = 0;
  for (let ms = 0; ms < seconds * 1000; ms += 100) {
    const now = START_MS + ms;
    for (const s of state) {
      if (r() > 0.5) continue;
      s.price *= Math.exp(0.0004 * (r() - 0.5));
      const qty = 1 + Math.floor(r() * 50);
      s.volume += qty;
      s.seq += 1;
      // Some ticks arrive slightly out of order (up to 300 ms late).
      const late = r() < 0.1 && now % 60_000 >= 1_000;
      const exchangeTimeMs = now - (late ? Math.floor(r() * 300) : 0);
      const tick: Tick = {
        instrument: { id: s.id, symbol: s.symbol, segment: s.segment, securityId: s.securityId },
        exchangeTimeMs,
        receivedTimeMs: now + 5,
        seq: s.seq,
        lastPrice: s.price,
        lastQuantity: qty,
        volume: s.volume,
        openInterest: 0,
        averagePrice: s.price,
        open: 0,
        high: 0,
        low: 0,
        close: 0,
        totalBuyQuantity: 0,
        totalSellQuantity: 0,
        depth: [],
        meta: null,
        source: 'simulator',
      };
      ticks.push(tick);
      messages.push({ key: s.id, value: rawCodec.encode({ schemaVersion: 1, payload: 'tick', tick }) });
    }
    if (ms % 5000 === 0) {
      const spot = (state[0] as { price: number }).price;
      const T = (EXPIRY_MS - now) / (365 * 86_400_000);
      chainSeq += 1;
      chains += 1;
      const rows = STRIKES.map((K, j) => {
        const sigma = 0.13 + 0.02 * Math.abs(Math.log(K / spot)) * 10;
        const leg = (call: boolean, id: number) => ({
          instrument: {
            id: `NSE_FNO:${id}`,
            symbol: `NIFTY ${K} ${call ? 'CE' : 'PE'}`,
            segment: 'NSE_FNO' as const,
            securityId: String(id),
          },
          lastPrice: refPrice(spot, K, T, sigma, call),
          bidPrice: 0,
          askPrice: 0,
          bidQuantity: 0,
          askQuantity: 0,
          openInterest: 75 * (100 + Math.floor(r() * 5000)),
          volume: 75 * Math.floor(r() * 1000),
          sourceIv: sigma * 100,
        });
        return { strike: K, call: leg(true, 40000 + 2 * j), put: leg(false, 40001 + 2 * j) };
      });
      messages.push({
        key: 'IDX_I:13',
        value: rawCodec.encode({
          schemaVersion: 1,
          payload: 'chain',
          chain: {
            underlying: { id: 'IDX_I:13', symbol: 'NIFTY', segment: 'IDX_I', securityId: '13' },
            expiry: EXPIRY,
            exchangeTimeMs: now,
            receivedTimeMs: now + 20,
            seq: chainSeq,
            underlyingPrice: spot,
            lotSize: 75,
            rows,
            source: 'simulator',
          },
        }),
      });
    }
  }
  // Bad records, spread through the stream.
  const badTick = (over: Partial<Tick>): Buffer =>
    rawCodec.encode({ schemaVersion: 1, payload: 'tick', tick: { ...(ticks[0] as Tick), ...over } });
  const insert = (at: number, m: RawMessage) => messages.splice(Math.floor(messages.length * at), 0, m);
  insert(0.2, { key: 'IDX_I:13', value: Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]) });
  insert(0.4, { key: 'IDX_I:13', value: badTick({ lastPrice: Number.NaN }) });
  insert(0.6, {
    key: 'NSE_EQ:999',
    value: badTick({ instrument: { id: 'NSE_EQ:999', symbol: 'X', segment: 'NSE_EQ', securityId: '999' } }),
  });
  insert(0.8, { key: 'IDX_I:13', value: rawCodec.encode({ schemaVersion: 99, payload: 'tick', tick: ticks[1] as Tick }) });
  return {
    messages,
    ticks,
    chains,
    legsPerChain: STRIKES.length * 2,
    bad: [
      { reason: 'undecodable', count: 1 },
      { reason: 'invalid-price', count: 1 },
      { reason: 'unknown-instrument', count: 1 },
      { reason: 'schema-too-new', count: 1 },
    ],
  };
}

/** Final bars computed straight from the ticks: every minute but each instrument's last. */
export function expectedFinalBars(
  ticks: Tick[],
  tickSizes: Record<string, number>,
): Map<string, Omit<Bar, 'final' | 'tickCount'> & { tickCount: number }> {
  const byInstrument = new Map<string, Tick[]>();
  for (const t of ticks) byInstrument.set(t.instrument.id, [...(byInstrument.get(t.instrument.id) ?? []), t]);
  const out = new Map<string, Omit<Bar, 'final'>>();
  for (const [id, list] of byInstrument) {
    const sorted = [...list].sort((a, b) => a.exchangeTimeMs - b.exchangeTimeMs || a.seq - b.seq);
    const minutes = [...new Set(sorted.map((t) => Math.floor(t.exchangeTimeMs / 60_000) * 60_000))].sort((a, b) => a - b);
    let prevEnd: number | undefined;
    for (const m of minutes) {
      const inMinute = sorted.filter((t) => t.exchangeTimeMs >= m && t.exchangeTimeMs < m + 60_000);
      const first = inMinute[0] as Tick;
      const last = inMinute[inMinute.length - 1] as Tick;
      const prices = inMinute.map((t) => round(t.lastPrice, tickSizes[id] as number));
      const byVolume = [...inMinute].sort((a, b) => a.seq - b.seq);
      const cumStart = prevEnd ?? (byVolume[0] as Tick).volume - (byVolume[0] as Tick).lastQuantity;
      const cumEnd = last.volume;
      prevEnd = cumEnd;
      if (m === minutes[minutes.length - 1]) continue;
      out.set(`${id}@${m}`, {
        instrumentId: id,
        minuteStartMs: m,
        open: round(first.lastPrice, tickSizes[id] as number),
        high: Math.max(...prices),
        low: Math.min(...prices),
        close: round(last.lastPrice, tickSizes[id] as number),
        volume: cumEnd - cumStart,
        openInterest: 0,
        tickCount: inMinute.length,
        openTimeMs: first.exchangeTimeMs,
        closeTimeMs: last.exchangeTimeMs,
        volumeCumStart: cumStart,
        volumeCumEnd: cumEnd,
      });
    }
  }
  return out;
}
