// NSE session arithmetic for the simulator: IST wall clock (UTC+5:30, no DST), the normal market
// window 09:15–15:30, weekly/monthly expiries, and the U-shaped intraday volume profile.
import { IST_OFFSET_MS } from '../../core/market-time.ts';

const DAY_MS = 86_400_000;
export const SESSION_OPEN_MIN = 9 * 60 + 15;
export const SESSION_CLOSE_MIN = 15 * 60 + 30;
/** Trading seconds in a year (252 sessions of 6h15m), the clock GBM steps in. */
export const TRADING_SECONDS_PER_YEAR = 252 * 375 * 60;

/** Minutes since IST midnight. */
export function istMinuteOfDay(utcMs: number): number {
  return Math.floor(((((utcMs + IST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
}

/** The IST calendar date (YYYY-MM-DD) of an instant. */
export function istDate(utcMs: number): string {
  return new Date(utcMs + IST_OFFSET_MS).toISOString().slice(0, 10);
}

/** UTC ms of 15:30 IST on a YYYY-MM-DD date: when an expiring contract stops trading. */
export function expiryCloseMs(date: string): number {
  return Date.parse(`${date}T15:30:00+05:30`);
}

/** Weekday of an IST date, 0 = Sunday. */
function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The next `count` expiries on or after the instant (an expiry day counts until 15:30 IST).
 * Weekly: every `weekday` (NSE index options expire on Tuesdays, BSE's on Thursdays).
 * Monthly (stock options): the last `weekday` of each month.
 */
export function nextExpiries(nowMs: number, count: number, rule: { weekday: number; monthly: boolean }): string[] {
  const out: string[] = [];
  let date = istDate(nowMs);
  if (nowMs >= expiryCloseMs(date)) date = addDays(date, 1);
  while (out.length < count) {
    if (weekday(date) === rule.weekday) {
      const isLastOfMonth = addDays(date, 7).slice(0, 7) !== date.slice(0, 7);
      if (!rule.monthly || isLastOfMonth) out.push(date);
    }
    date = addDays(date, 1);
  }
  return out;
}

/**
 * Relative trading intensity through the session: high at the open, a lull at midday, a rise
 * into the close (a U shape). 1 on average over the session; outside it, the midday level.
 */
export function volumeProfile(utcMs: number): number {
  const minute = istMinuteOfDay(utcMs);
  if (minute < SESSION_OPEN_MIN || minute >= SESSION_CLOSE_MIN) return 0.4;
  const x = (minute - SESSION_OPEN_MIN) / (SESSION_CLOSE_MIN - SESSION_OPEN_MIN);
  // 0.4 + 3.6 (x − 0.5)² integrates to 0.7 over [0, 1]; scale to a mean of 1.
  return (0.4 + 3.6 * (x - 0.5) ** 2) / 0.7;
}

/** A round strike step near 0.2% of the price: 1, 2.5, 5, 10, 20, 50, 100, ... */
export function defaultStrikeStep(price: number): number {
  const target = price * 0.002;
  const steps = [0.5, 1, 2.5, 5, 10, 20, 50, 100, 200, 500, 1000];
  let best = steps[0] ?? 1;
  for (const s of steps) if (Math.abs(Math.log(s / target)) < Math.abs(Math.log(best / target))) best = s;
  return best;
}
