// Normalisation of raw records: event times to sane UTC milliseconds, prices onto the instrument's
// tick grid, validation of what cannot be repaired. Pure.
import { IST_OFFSET_MS } from '../core/market-time.ts';

/** How close to +5:30 the exchange/receive skew must be to be read as the IST-as-UTC quirk. */
const IST_QUIRK_WINDOW_MS = 30 * 60_000;
/** Epochs below this are seconds, not milliseconds (1e11 ms is March 1973). */
const SECONDS_EPOCH_LIMIT = 1e11;

/**
 * The exchange time as UTC milliseconds, or undefined when neither time is usable. Repairs
 * seconds-for-milliseconds and the IST-as-UTC encoding (a time ≈5h30 ahead of when ingestion
 * received it); a missing exchange time falls back to the receive time.
 */
export function normaliseTime(exchangeTimeMs: number, receivedTimeMs: number): number | undefined {
  let t = Number.isFinite(exchangeTimeMs) && exchangeTimeMs > 0 ? exchangeTimeMs : receivedTimeMs;
  if (!(Number.isFinite(t) && t > 0)) return undefined;
  if (t < SECONDS_EPOCH_LIMIT) t *= 1000;
  if (
    Number.isFinite(receivedTimeMs) &&
    receivedTimeMs > 0 &&
    Math.abs(t - receivedTimeMs - IST_OFFSET_MS) < IST_QUIRK_WINDOW_MS
  ) {
    t -= IST_OFFSET_MS;
  }
  return Math.round(t);
}

/** Decimal places of a tick size such as 0.05 (2), 0.0025 (4) or 1e-7 (7), for exact-looking results. */
export function tickDecimals(tickSize: number): number {
  const text = tickSize.toString();
  const exp = text.match(/e-(\d+)$/);
  if (exp) return Number(exp[1]) + (text.split('e')[0]?.split('.')[1]?.length ?? 0);
  return text.split('.')[1]?.length ?? 0;
}

/** Rounds a price to the nearest multiple of the tick size (0 stays 0; bad tick sizes leave it). */
export function roundToTick(price: number, tickSize: number): number {
  if (!(tickSize > 0) || !Number.isFinite(price)) return price;
  const rounded = Math.round(price / tickSize) * tickSize;
  return Number(rounded.toFixed(Math.min(tickDecimals(tickSize), 12)));
}

/** A price a record may carry: finite and not negative. */
export function validPrice(price: number): boolean {
  return Number.isFinite(price) && price >= 0;
}

/** 15:30 IST on the expiry date (YYYY-MM-DD), in UTC milliseconds; undefined when malformed. */
export function expiryCloseMs(expiry: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(expiry);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 10, 0, 0);
  const back = new Date(ms);
  if (back.getUTCMonth() !== Number(m[2]) - 1 || back.getUTCDate() !== Number(m[3])) return undefined;
  return ms;
}

export const YEAR_MS = 365 * 86_400_000;

/** Years (ACT/365) from `nowMs` to 15:30 IST on the expiry date; 0 once expired. */
export function timeToExpiryYears(expiry: string, nowMs: number): number | undefined {
  const close = expiryCloseMs(expiry);
  if (close === undefined) return undefined;
  return Math.max(0, (close - nowMs) / YEAR_MS);
}
