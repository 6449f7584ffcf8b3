// How `stockify query` prints MarketData answers for people. Pure: values in, text out.
import { EXCHANGE_TIME_ZONE } from '../core/market-time.ts';
import type { Bar, GammaExposure, OptionChain, OptionQuote, Tick } from '../core/messages.ts';

/** A Snapshot as a gRPC client receives it: the oneof field that is set. */
export interface WireSnapshot {
  instrumentId: string;
  timeMs: number;
  tick?: Tick | null;
  optionQuote?: OptionQuote | null;
}

const IST = new Intl.DateTimeFormat('sv-SE', {
  timeZone: EXCHANGE_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** "2026-11-20 09:30:00.123 IST" — the exchange's wall clock. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '-';
  const frac = String(Math.floor(ms % 1000)).padStart(3, '0');
  return `${IST.format(new Date(ms))}.${frac} IST`;
}

export function formatNumber(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return '-';
  return v.toFixed(digits);
}

/** 1234567 → "12.35L", 123456789 → "12.35Cr" (Indian units), smaller as is. */
export function formatQuantity(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e7) return `${(v / 1e7).toFixed(2)}Cr`;
  if (a >= 1e5) return `${(v / 1e5).toFixed(2)}L`;
  return String(Math.round(v));
}

/** Signed exposure in crore rupees, e.g. "+1.23e3 Cr" style kept short: "+123.45Cr". */
export function formatExposure(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const sign = v > 0 ? '+' : v < 0 ? '-' : '';
  return `${sign}${(Math.abs(v) / 1e7).toFixed(2)}Cr`;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAlign: readonly boolean[] = [],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (rightAlign[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatSnapshotLine(s: WireSnapshot): string {
  if (s.tick) {
    const t = s.tick;
    return `${formatTime(t.exchangeTimeMs)}  ${s.instrumentId}  ${t.instrument.symbol}  ltp ${formatNumber(t.lastPrice)}  vol ${formatQuantity(t.volume)}  seq ${t.seq}`;
  }
  if (s.optionQuote) {
    const q = s.optionQuote;
    const iv = q.ivAvailable ? `${formatNumber(q.iv * 100)}%` : 'n/a';
    return `${formatTime(q.exchangeTimeMs)}  ${s.instrumentId}  ${q.instrument.symbol}  price ${formatNumber(q.price)}  iv ${iv}  delta ${formatNumber(q.delta, 3)}  oi ${formatQuantity(q.openInterest)}`;
  }
  return `${formatTime(s.timeMs)}  ${s.instrumentId}  (empty snapshot)`;
}

export function formatTicks(ticks: readonly Tick[]): string {
  return table(
    ['time', 'seq', 'ltp', 'qty', 'volume', 'oi'],
    ticks.map((t) => [
      formatTime(t.exchangeTimeMs),
      String(t.seq),
      formatNumber(t.lastPrice),
      String(t.lastQuantity),
      String(t.volume),
      String(t.openInterest),
    ]),
    [false, true, true, true, true, true],
  );
}

export function formatBars(bars: readonly Bar[]): string {
  return table(
    ['minute', 'open', 'high', 'low', 'close', 'volume', 'ticks', 'final'],
    bars.map((b) => [
      formatTime(b.minuteStartMs).replace(/:00\.000 IST$/, ' IST'),
      formatNumber(b.open),
      formatNumber(b.high),
      formatNumber(b.low),
      formatNumber(b.close),
      String(b.volume),
      String(b.tickCount),
      b.final ? 'yes' : 'no',
    ]),
    [false, true, true, true, true, true, true, false],
  );
}

interface Leg {
  iv: string;
  delta: string;
  gamma: string;
  oi: string;
  price: string;
}

const emptyLeg: Leg = { iv: '', delta: '', gamma: '', oi: '', price: '' };

function leg(q: OptionQuote | undefined): Leg {
  if (!q) return emptyLeg;
  return {
    iv: q.ivAvailable ? formatNumber(q.iv * 100) : 'n/a',
    delta: formatNumber(q.delta, 3),
    gamma: q.gamma.toFixed(5),
    oi: formatQuantity(q.openInterest),
    price: formatNumber(q.price),
  };
}

/** Calls on the left, strike in the middle, puts on the right; then the GEX summary. */
export function formatChain(chain: OptionChain): string {
  const byStrike = new Map<number, { call?: OptionQuote; put?: OptionQuote }>();
  for (const q of chain.quotes) {
    const row = byStrike.get(q.meta.strike) ?? {};
    if (q.meta.optionType === 'CALL') row.call = q;
    else if (q.meta.optionType === 'PUT') row.put = q;
    byStrike.set(q.meta.strike, row);
  }
  const strikes = [...byStrike.keys()].sort((a, b) => a - b);
  const rows = strikes.map((k) => {
    const r = byStrike.get(k) ?? {};
    const c = leg(r.call);
    const p = leg(r.put);
    return [c.iv, c.delta, c.gamma, c.oi, c.price, '|', formatNumber(k), '|', p.price, p.oi, p.gamma, p.delta, p.iv];
  });
  const head = `${chain.underlyingId}  expiry ${chain.expiry}  spot ${formatNumber(chain.spot)}`;
  const body = table(
    ['C iv%', 'C delta', 'C gamma', 'C oi', 'C price', '|', 'strike', '|', 'P price', 'P oi', 'P gamma', 'P delta', 'P iv%'],
    rows,
    [true, true, true, true, true, false, true, false, true, true, true, true, true],
  );
  return [head, '', body, '', formatGex(chain.gex ?? null)].join('\n');
}

export function formatGex(g: GammaExposure | null): string {
  if (!g) return 'GEX: not available';
  const zero = g.zeroGammaAvailable ? formatNumber(g.zeroGammaLevel) : 'none in range';
  return `GEX at ${formatTime(g.timeMs)}: net ${formatExposure(g.netGex)}  calls ${formatExposure(g.callGex)}  puts ${formatExposure(g.putGex)}  zero-gamma ${zero}`;
}

/**
 * A time for --from/--to: epoch milliseconds, an ISO timestamp, "now", or "now-<n><s|m|h|d>".
 * Returns undefined when it is none of those.
 */
export function parseTimeArg(v: string, nowMs: number): number | undefined {
  if (/^\d+$/.test(v)) return Number(v);
  const rel = /^now(?:-(\d+)([smhd]))?$/.exec(v);
  if (rel) {
    if (!rel[1] || !rel[2]) return nowMs;
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return nowMs - Number(rel[1]) * unit;
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
