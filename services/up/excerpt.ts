// The option-chain excerpt of the live view: strikes around the money, calls and puts side by
// side, with the chain's net gamma exposure and zero-gamma level. Pure.
import type { OptionChain, OptionQuote } from '../core/messages.ts';

export interface LegFigures {
  /** Implied volatility as a fraction; undefined when no volatility reproduces the price. */
  iv?: number;
  delta: number;
  gamma: number;
  openInterest: number;
  gex: number;
  price: number;
}

export interface ExcerptRow {
  strike: number;
  /** The strike nearest the spot. */
  atm: boolean;
  call?: LegFigures;
  put?: LegFigures;
}

export interface ChainExcerpt {
  underlyingId: string;
  expiry: string;
  spot: number;
  netGex?: number;
  zeroGamma?: number;
  rows: ExcerptRow[];
  /** Contracts in the whole chain. */
  contracts: number;
}

const legOf = (q: OptionQuote): LegFigures => ({
  ...(q.ivAvailable ? { iv: q.iv } : {}),
  delta: q.delta,
  gamma: q.gamma,
  openInterest: q.openInterest,
  gex: q.gex,
  price: q.price,
});

/** `strikesEachSide` strikes below and above the one nearest the spot. */
export function chainExcerpt(chain: OptionChain, strikesEachSide = 5): ChainExcerpt {
  const byStrike = new Map<number, ExcerptRow>();
  for (const q of chain.quotes) {
    const strike = q.meta.strike;
    const row = byStrike.get(strike) ?? { strike, atm: false };
    if (q.meta.optionType === 'CALL') row.call = legOf(q);
    else if (q.meta.optionType === 'PUT') row.put = legOf(q);
    byStrike.set(strike, row);
  }
  const rows = [...byStrike.values()].sort((a, b) => a.strike - b.strike);
  let atm = -1;
  rows.forEach((r, i) => {
    const best = rows[atm];
    if (atm < 0 || (best && Math.abs(r.strike - chain.spot) < Math.abs(best.strike - chain.spot))) atm = i;
  });
  const atmRow = rows[atm];
  if (atmRow) atmRow.atm = true;
  const from = Math.max(0, atm - strikesEachSide);
  const gex = chain.gex;
  return {
    underlyingId: chain.underlyingId,
    expiry: chain.expiry,
    spot: chain.spot,
    ...(gex ? { netGex: gex.netGex } : {}),
    ...(gex?.zeroGammaAvailable ? { zeroGamma: gex.zeroGammaLevel } : {}),
    rows: atm < 0 ? [] : rows.slice(from, atm + strikesEachSide + 1),
    contracts: chain.quotes.length,
  };
}
