// `stockify greeks`: implied volatility and Greeks for contracts given as JSON Lines on stdin.
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { flags, parseCommand } from '../core/cli.ts';
import { bsmImpliedVolatility, bsmPrice, type Contract, type ImpliedVolResult } from './black-scholes.ts';
import { bsmGreeks, solveContract } from './greeks.ts';
import { timeToExpiryYears } from './normalise.ts';

const USAGE = `Usage: stockify greeks [--now ISO-8601] < contracts.jsonl

Reads one contract per line (JSON) and writes one result per line.
Input fields:
  spot, strike        positive numbers
  expiry | t          expiry date YYYY-MM-DD (time measured to 15:30 IST) or years to expiry
  rate                continuous risk-free rate as a fraction (0.065 = 6.5%)
  dividendYield       continuous dividend yield as a fraction (default 0)
  type                call | put
  price | volatility  the option's market price (→ implied volatility) or a volatility (→ price)
Output: {"line":N,"price","ivAvailable","iv","delta","gamma","theta","vega","rho","t"}
  theta per calendar day, vega per volatility point, rho per rate point.
  When no volatility reproduces the price: "iv":null, "ivAvailable":false, "ivReason" one of
    below-intrinsic   the price is below the option's intrinsic value
    above-maximum     the price is at or above its upper bound (spot for a call, strike for a put, discounted)
    no-time-value     no time value to solve for: t is 0, or the price equals the intrinsic value
  and the Greeks are those of the zero-volatility limit.
A bad line gives {"line":N,"error":"<field>: <problem>"}; the other lines go on.

Options:
  --now ISO-8601   the valuation time for 'expiry' (default: the current time)
  --help           this text`;

/** Why a price has no implied volatility (the `ivReason` of a result). */
export type IvReason = Extract<ImpliedVolResult, { ok: false }>['reason'];

type Parsed = { ok: true; contract: Contract; price?: number; volatility?: number } | { ok: false; error: string };

function num(
  obj: Record<string, unknown>,
  field: string,
  opts: { positive?: boolean; optional?: boolean } = {},
): number | string {
  const v = obj[field];
  if (v === undefined || v === null) return opts.optional ? Number.NaN : `${field}: is required`;
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${field}: must be a finite number`;
  if (opts.positive && v <= 0) return `${field}: must be positive`;
  return v;
}

export function parseLine(text: string, nowMs: number): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'line: is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: 'line: must be a JSON object' };
  const o = value as Record<string, unknown>;
  const fields: Record<string, number> = {};
  for (const [f, positive] of [
    ['spot', true],
    ['strike', true],
    ['rate', false],
  ] as const) {
    const v = num(o, f, { positive });
    if (typeof v === 'string') return { ok: false, error: v };
    fields[f] = v;
  }
  const q = num(o, 'dividendYield', { optional: true });
  if (typeof q === 'string') return { ok: false, error: q };
  if (o.type !== 'call' && o.type !== 'put') return { ok: false, error: 'type: must be "call" or "put"' };
  let t: number;
  if (o.expiry !== undefined) {
    if (typeof o.expiry !== 'string') return { ok: false, error: 'expiry: must be a YYYY-MM-DD string' };
    const years = timeToExpiryYears(o.expiry, nowMs);
    if (years === undefined) return { ok: false, error: 'expiry: must be a valid YYYY-MM-DD date' };
    t = years;
  } else {
    const v = num(o, 't');
    if (typeof v === 'string') return { ok: false, error: 't: is required when expiry is not given' };
    if (v < 0) return { ok: false, error: 't: must not be negative' };
    t = v;
  }
  const contract: Contract = {
    spot: fields.spot as number,
    strike: fields.strike as number,
    t,
    rate: fields.rate as number,
    dividendYield: Number.isNaN(q) ? 0 : q,
    right: o.type,
  };
  if (o.price !== undefined) {
    const p = num(o, 'price');
    if (typeof p === 'string') return { ok: false, error: p };
    if (p < 0) return { ok: false, error: 'price: must not be negative' };
    return { ok: true, contract, price: p };
  }
  if (o.volatility !== undefined) {
    const v = num(o, 'volatility');
    if (typeof v === 'string') return { ok: false, error: v };
    if (v < 0) return { ok: false, error: 'volatility: must not be negative' };
    return { ok: true, contract, volatility: v };
  }
  return { ok: false, error: 'price: either price or volatility is required' };
}

export function evaluateLine(text: string, line: number, nowMs: number): Record<string, unknown> {
  const parsed = parseLine(text, nowMs);
  if (!parsed.ok) return { line, error: parsed.error };
  const c = parsed.contract;
  if (parsed.price !== undefined) {
    const s = solveContract(c, parsed.price);
    if (s.ivAvailable) return { line, t: c.t, price: parsed.price, ivAvailable: true, iv: s.iv, ...greeksOf(s) };
    // No volatility reproduces the price: say why rather than print a volatility of 0.
    const solved = bsmImpliedVolatility(c, parsed.price);
    const ivReason: IvReason = solved.ok ? 'no-time-value' : solved.reason;
    return { line, t: c.t, price: parsed.price, ivAvailable: false, iv: null, ivReason, ...greeksOf(s) };
  }
  const vol = parsed.volatility ?? 0;
  const g = bsmGreeks(c, vol);
  return { line, t: c.t, price: bsmPrice(c, vol), ivAvailable: vol > 0 && c.t > 0, iv: vol, ...greeksOf(g) };
}

function greeksOf(g: { delta: number; gamma: number; theta: number; vega: number; rho: number }) {
  return { delta: g.delta, gamma: g.gamma, theta: g.theta, vega: g.vega, rho: g.rho };
}

const FLAGS = z.object({ now: flags.isoTime().optional() });

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { usage: USAGE, options: { now: { type: 'string' } }, schema: FLAGS });
  if (!parsed.ok) return parsed.exitCode;
  const nowMs = parsed.parsed.flags.now ?? Date.now();
  const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of rl) {
    line += 1;
    if (text.trim() === '') continue;
    if (!process.stdout.write(`${JSON.stringify(evaluateLine(text, line, nowMs))}\n`)) {
      await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
    }
  }
  return 0;
}
