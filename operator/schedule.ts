// Market hours as a timetable: is the market open at an instant, and when does that next change.
// Pure (the clock is a parameter); luxon does the time-zone maths, DST included.
import { DateTime, IANAZone } from 'luxon';
import type { MarketFeedSpec } from './crd/types.ts';

export type Schedule = NonNullable<MarketFeedSpec['schedule']>;
export type MarketState = { open: boolean; reason: 'Open' | 'Closed' | 'Holiday' | 'AlwaysOpen' };

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
/** How far ahead nextBoundary looks (a year of holidays plus slack). */
const HORIZON_DAYS = 400;

export class ScheduleError extends Error {}

function zoneOf(schedule: Schedule): string {
  if (!IANAZone.isValidZone(schedule.timezone)) {
    throw new ScheduleError(`schedule.timezone ${JSON.stringify(schedule.timezone)} is not a known IANA time zone`);
  }
  return schedule.timezone;
}

/** Throws ScheduleError when the schedule cannot be evaluated (unknown time zone). */
export function checkSchedule(schedule: Schedule | undefined): void {
  if (schedule) zoneOf(schedule);
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function isOpen(schedule: Schedule | undefined, now: Date): MarketState {
  if (!schedule) return { open: true, reason: 'AlwaysOpen' };
  const local = DateTime.fromJSDate(now, { zone: zoneOf(schedule) });
  if (schedule.holidays.includes(local.toISODate() ?? '')) return { open: false, reason: 'Holiday' };
  const day = WEEKDAYS[local.weekday - 1];
  const minute = local.hour * 60 + local.minute;
  const open = schedule.open.some(
    (w) => day !== undefined && w.days.includes(day) && minute >= minutes(w.from) && minute < minutes(w.to),
  );
  return { open, reason: open ? 'Open' : 'Closed' };
}

/** The next instant after `now` at which isOpen changes, or undefined when it never does. */
export function nextBoundary(schedule: Schedule | undefined, now: Date): Date | undefined {
  if (!schedule) return undefined;
  const zone = zoneOf(schedule);
  const current = isOpen(schedule, now).open;
  const start = DateTime.fromJSDate(now, { zone }).startOf('day');
  for (let d = 0; d <= HORIZON_DAYS; d++) {
    const day = start.plus({ days: d });
    const candidates: DateTime[] = [day];
    for (const w of schedule.open) {
      for (const hhmm of [w.from, w.to]) {
        candidates.push(day.set({ hour: Number(hhmm.slice(0, 2)), minute: Number(hhmm.slice(3, 5)), second: 0, millisecond: 0 }));
      }
    }
    candidates.sort((a, b) => a.toMillis() - b.toMillis());
    for (const c of candidates) {
      if (c.toMillis() <= now.getTime()) continue;
      const at = c.toJSDate();
      if (isOpen(schedule, at).open !== current) return at;
    }
  }
  return undefined;
}
