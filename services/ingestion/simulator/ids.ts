// Deterministic, unique security ids for simulated option contracts: the same underlying, expiry,
// strike and type always give the same id, in a 13-digit range real exchange ids do not use.
import { hash53 } from '../../core/sharding.ts';

const BASE = 1_000_000_000_000;
const SPAN = 8_000_000_000_000;

export function optionSecurityId(underlyingId: string, expiry: string, strike: number, type: 'CE' | 'PE'): string {
  return String(BASE + (hash53(`${underlyingId}|${expiry}|${strike}|${type}`) % SPAN));
}
