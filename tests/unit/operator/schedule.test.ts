import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isOpen, nextBoundary, type Schedule, ScheduleError } from '../../../operator/schedule.ts';

const nse: Schedule = {
  timezone: 'Asia/Kolkata',
  open: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], from: '09:15', to: '15:30' }],
  holidays: ['2026-11-24'],
  closed: { minReplicas: 0 },
};

describe('market schedule', () => {
  test('NSE is open at 10:00 IST on a Monday (04:30 UTC)', () => {
    assert.deepEqual(isOpen(nse, new Date('2026-11-23T04:30:00Z')), { open: true, reason: 'Open' });
  });

  test('the window opens at 09:15 IST inclusive and closes at 15:30 IST exclusive', () => {
    assert.equal(isOpen(nse, new Date('2026-11-23T03:44:59Z')).open, false);
    assert.equal(isOpen(nse, new Date('2026-11-23T03:45:00Z')).open, true);
    assert.equal(isOpen(nse, new Date('2026-11-23T09:59:59Z')).open, true);
    assert.equal(isOpen(nse, new Date('2026-11-23T10:00:00Z')).open, false);
  });

  test('a holiday stays closed all day', () => {
    assert.deepEqual(isOpen(nse, new Date('2026-11-24T05:00:00Z')), { open: false, reason: 'Holiday' });
  });

  test('the weekend is closed', () => {
    assert.equal(isOpen(nse, new Date('2026-11-28T05:00:00Z')).open, false);
  });

  test('without a schedule the market is always open and has no boundary', () => {
    assert.deepEqual(isOpen(undefined, new Date()), { open: true, reason: 'AlwaysOpen' });
    assert.equal(nextBoundary(undefined, new Date()), undefined);
  });

  test('the next boundary while open is today’s close', () => {
    assert.equal(nextBoundary(nse, new Date('2026-11-23T04:30:00Z'))?.toISOString(), '2026-11-23T10:00:00.000Z');
  });

  test('the next boundary after Monday’s close skips the Tuesday holiday to Wednesday’s open', () => {
    assert.equal(nextBoundary(nse, new Date('2026-11-23T10:00:00Z'))?.toISOString(), '2026-11-25T03:45:00.000Z');
  });

  test('Friday evening’s next boundary is Monday morning', () => {
    assert.equal(nextBoundary(nse, new Date('2026-11-27T12:00:00Z'))?.toISOString(), '2026-11-30T03:45:00.000Z');
  });

  test('a time zone with DST keeps local wall-clock windows (New York, across the November change)', () => {
    const nyse: Schedule = {
      ...nse,
      timezone: 'America/New_York',
      holidays: [],
      open: [{ days: ['Mon', 'Fri'], from: '09:30', to: '16:00' }],
    };
    // Friday 2026-10-30 is EDT (UTC-4), Monday 2026-11-02 is EST (UTC-5)
    assert.equal(nextBoundary(nyse, new Date('2026-10-30T21:00:00Z'))?.toISOString(), '2026-11-02T14:30:00.000Z');
  });

  test('overlapping windows make one open period', () => {
    const s: Schedule = {
      ...nse,
      holidays: [],
      open: [
        { days: ['Mon'], from: '09:00', to: '12:00' },
        { days: ['Mon'], from: '11:00', to: '14:00' },
      ],
    };
    assert.equal(nextBoundary(s, new Date('2026-11-23T04:00:00Z'))?.toISOString(), '2026-11-23T08:30:00.000Z');
  });

  test('an unknown time zone is a ScheduleError', () => {
    assert.throws(() => isOpen({ ...nse, timezone: 'Mars/Olympus' }, new Date()), ScheduleError);
  });
});
