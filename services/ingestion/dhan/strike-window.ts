// Which option contracts the live feed carries (pure): for every underlying with optionChain, its
// nearest `expiries` expiries and the `strikes` strikes around the money, resolved from the scrip
// master. The window is re-centred as the spot moves, with hysteresis: it moves only once the strike
// nearest the spot is more than `band` strikes from the window's centre, so a spot hovering between
// two strikes never flaps subscriptions. Every change is a diff of contracts to subscribe and to
// unsubscribe; the whole set never exceeds the capacity the connection budget leaves.
import { type InstrumentId, instrumentId, type Segment } from '../../core/messages.ts';
import type { ScripMaster } from './scrip-master.ts';

/** NSE/BSE options trade in 0.05 ticks when the scrip master gives no tick size. */
const DEFAULT_OPTION_TICK = 0.05;

export interface OptionContract {
  id: InstrumentId;
  segment: Segment;
  securityId: string;
  /** "<UNDERLYING> <expiry> <strike> <CE|PE>", as chain snapshots name their legs. */
  symbol: string;
  underlyingId: string;
  expiry: string;
  strike: number;
  optionType: 'CE' | 'PE';
  lotSize: number;
  tickSize: number;
}

/** The contracts of one underlying and expiry, by strike (ascending). */
export interface Ladder {
  underlyingId: string;
  expiry: string;
  strikes: readonly number[];
  /** The CE and/or PE at each strike, index-aligned with `strikes`. */
  legs: readonly (readonly OptionContract[])[];
  /** Strikes in the window. */
  size: number;
  /** How far (in strikes) the nearest strike may stray from the centre before the window moves. */
  band: number;
}

export interface WindowSpec {
  underlyingId: string;
  /** The underlying's trading symbol in the scrip master (its derivatives' symbol prefix). */
  underlyingSymbol: string;
  optionSegment: Segment;
  expiries: number;
  strikes: number;
  lotSize: number;
}

/** A quarter of the window on each side of the centre, at least one strike. */
export function hysteresisBand(size: number): number {
  return Math.max(1, Math.floor((size - 1) / 4));
}

/** The ladders of an underlying: its first `expiries` expiries on or after `today` (YYYY-MM-DD). */
export function buildLadders(master: ScripMaster, spec: WindowSpec, today: string): Ladder[] {
  const byExpiry = new Map<string, Map<number, OptionContract[]>>();
  for (const row of master.optionsOf(spec.underlyingSymbol, spec.optionSegment)) {
    if (row.expiry < today || row.optionType === '') continue;
    const strikes = byExpiry.get(row.expiry) ?? new Map<number, OptionContract[]>();
    byExpiry.set(row.expiry, strikes);
    const legs = strikes.get(row.strike) ?? [];
    strikes.set(row.strike, legs);
    legs.push({
      id: instrumentId(row.segment, row.securityId),
      segment: row.segment,
      securityId: row.securityId,
      symbol: `${spec.underlyingSymbol} ${row.expiry} ${row.strike} ${row.optionType}`,
      underlyingId: spec.underlyingId,
      expiry: row.expiry,
      strike: row.strike,
      optionType: row.optionType,
      lotSize: row.lotSize > 0 ? row.lotSize : spec.lotSize,
      tickSize: row.tickSize > 0 ? row.tickSize : DEFAULT_OPTION_TICK,
    });
  }
  const size = Math.max(1, spec.strikes);
  return [...byExpiry.keys()]
    .sort()
    .slice(0, Math.max(0, spec.expiries))
    .map((expiry) => {
      const strikes = byExpiry.get(expiry) ?? new Map<number, OptionContract[]>();
      const sorted = [...strikes.keys()].sort((a, b) => a - b);
      return {
        underlyingId: spec.underlyingId,
        expiry,
        strikes: sorted,
        legs: sorted.map((k) => (strikes.get(k) ?? []).sort((a, b) => a.optionType.localeCompare(b.optionType))),
        size,
        band: hysteresisBand(size),
      };
    });
}

/** Index of the strike nearest `spot` (the lower one on a tie); strikes ascending and non-empty. */
export function nearestStrikeIndex(strikes: readonly number[], spot: number): number {
  let lo = 0;
  let hi = strikes.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((strikes[mid] as number) < spot) lo = mid + 1;
    else hi = mid;
  }
  // lo: first strike ≥ spot (or the last strike); the one below may be nearer.
  if (lo > 0 && spot - (strikes[lo - 1] as number) <= (strikes[lo] as number) - spot) return lo - 1;
  return lo;
}

/** The window's strike indices [lo, hi): `size` strikes around `centre`, shifted to fit the ladder. */
export function windowBounds(count: number, centre: number, size: number): { lo: number; hi: number } {
  const n = Math.min(size, count);
  const lo = Math.min(Math.max(0, centre - Math.floor((n - 1) / 2)), count - n);
  return { lo, hi: lo + n };
}

/** The centre after the spot moved: kept while the nearest strike is within `band` of it. */
export function nextCentre(strikes: readonly number[], spot: number, current: number | undefined, band: number): number {
  const atm = nearestStrikeIndex(strikes, spot);
  if (current !== undefined && Math.abs(atm - current) <= band) return current;
  return atm;
}

export interface WindowDiff {
  subscribe: OptionContract[];
  unsubscribe: OptionContract[];
}

/** The live windows of all underlyings of a source, and the subscriptions they add up to. */
export class StrikeWindows {
  private readonly ladders: readonly Ladder[];
  private readonly capacity: number;
  private readonly centres = new Map<Ladder, number>();
  private readonly byId = new Map<string, OptionContract>();
  private readonly underlyings = new Set<string>();
  private current = new Map<string, OptionContract>();
  /** Contracts some window wants that the capacity left out, at the last change. */
  refused = 0;

  constructor(ladders: readonly Ladder[], capacity: number) {
    this.ladders = ladders.filter((l) => l.strikes.length > 0);
    this.capacity = Math.max(0, capacity);
    for (const l of this.ladders) {
      this.underlyings.add(l.underlyingId);
      for (const legs of l.legs) for (const c of legs) this.byId.set(c.id, c);
    }
  }

  /** Whether any window follows this instrument's price. */
  follows(underlyingId: string): boolean {
    return this.underlyings.has(underlyingId);
  }

  /** Any contract of the ladders (subscribed or not: packets may still arrive after an unsubscribe). */
  contract(id: string): OptionContract | undefined {
    return this.byId.get(id);
  }

  /** The contracts subscribed now. */
  subscribed(): OptionContract[] {
    return [...this.current.values()];
  }

  /** The underlying moved to `spot`: re-centres its windows and returns what to (un)subscribe. */
  spot(underlyingId: string, spot: number): WindowDiff {
    if (!(Number.isFinite(spot) && spot > 0) || !this.underlyings.has(underlyingId)) return { subscribe: [], unsubscribe: [] };
    let moved = false;
    for (const l of this.ladders) {
      if (l.underlyingId !== underlyingId) continue;
      const before = this.centres.get(l);
      const after = nextCentre(l.strikes, spot, before, l.band);
      if (after !== before) {
        this.centres.set(l, after);
        moved = true;
      }
    }
    return moved ? this.apply(this.desired()) : { subscribe: [], unsubscribe: [] };
  }

  /**
   * Every window's contracts, nearest the centre first across windows (so that a capacity too small
   * for all keeps the strikes around the money of every underlying and expiry), cut to capacity.
   */
  private desired(): Map<string, OptionContract> {
    const ranked: { distance: number; order: number; c: OptionContract }[] = [];
    let order = 0;
    for (const l of this.ladders) {
      const centre = this.centres.get(l);
      if (centre === undefined) continue;
      const { lo, hi } = windowBounds(l.strikes.length, centre, l.size);
      for (let i = lo; i < hi; i++) {
        for (const c of l.legs[i] ?? []) ranked.push({ distance: Math.abs(i - centre), order: order++, c });
      }
    }
    ranked.sort((a, b) => a.distance - b.distance || a.order - b.order);
    this.refused = Math.max(0, ranked.length - this.capacity);
    return new Map(ranked.slice(0, this.capacity).map((r) => [r.c.id, r.c]));
  }

  private apply(next: Map<string, OptionContract>): WindowDiff {
    const subscribe = [...next.values()].filter((c) => !this.current.has(c.id));
    const unsubscribe = [...this.current.values()].filter((c) => !next.has(c.id));
    this.current = next;
    return { subscribe, unsubscribe };
  }
}
