import type { DigestPeriod } from '../../core/types.js';

export interface DigestSchedule {
  period: DigestPeriod;
  /** HH:MM in the person's time zone; hourly digests use only its minutes. */
  at: string;
  timezone: string;
}

interface LocalParts {
  /** YYYY-MM-DD */
  date: string;
  minutes: number;
  minute: number;
  /** 0 = Monday ... 6 = Sunday */
  weekday: number;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = makeFormatter(timeZone);
    if (formatters.size < 1000) formatters.set(timeZone, f);
  }
  return f;
}

function makeFormatter(timeZone: string): Intl.DateTimeFormat {
  const opts: Intl.DateTimeFormatOptions = {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
    hourCycle: 'h23',
  };
  try {
    return new Intl.DateTimeFormat('en-US', { ...opts, timeZone });
  } catch {
    // A time zone the runtime does not know: UTC rather than no digest at all.
    return new Intl.DateTimeFormat('en-US', { ...opts, timeZone: 'UTC' });
  }
}

function localParts(at: Date, timeZone: string): LocalParts {
  const parts = formatter(timeZone).formatToParts(at);
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? '';
  const hour = Number(get('hour'));
  const minute = Number(get('minute'));
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    minutes: hour * 60 + minute,
    minute,
    weekday: WEEKDAYS.indexOf(get('weekday')),
  };
}

/** A calendar date `days` before `date` (YYYY-MM-DD, no time zone involved). */
function daysBefore(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! - days)).toISOString().slice(0, 10);
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * The key of the latest digest slot at or before `at`, or null when digests are off:
 * - hourly: every hour at the minute of `at` (08:30 -> hh:30 local), key `hourly:<UTC minute of the slot>`
 *   (keyed by instant, so the hour repeated when clocks go back is still two slots);
 * - daily: every day at `at` local time, key `daily:<local date>`;
 * - weekly: Mondays at `at` local time, key `weekly:<local date of that Monday>`.
 * A slot time that does not exist on a spring-forward day falls to the first local minute after it.
 */
export function digestSlot(s: DigestSchedule, at: Date): string | null {
  if (s.period === 'off') return null;
  const local = localParts(at, s.timezone);
  const slotMinutes = minutesOf(s.at);
  switch (s.period) {
    case 'hourly': {
      const sinceSlot = (local.minute - (slotMinutes % 60) + 60) % 60;
      const slot = new Date(Math.floor(at.getTime() / 60_000) * 60_000 - sinceSlot * 60_000);
      return `hourly:${slot.toISOString().slice(0, 16)}`;
    }
    case 'daily':
      return `daily:${local.minutes >= slotMinutes ? local.date : daysBefore(local.date, 1)}`;
    case 'weekly': {
      let back = local.weekday;
      if (back === 0 && local.minutes < slotMinutes) back = 7;
      return `weekly:${daysBefore(local.date, back)}`;
    }
  }
}

/**
 * Due when a slot has begun since the last digest (or no digest was ever sent). A run that found
 * nothing to send still moves `lastDigestAt`, so one slot is looked at once.
 */
export function digestDue(s: DigestSchedule & { lastDigestAt: Date | null }, now: Date): { due: boolean; periodKey: string | null } {
  const periodKey = digestSlot(s, now);
  if (periodKey === null) return { due: false, periodKey };
  if (s.lastDigestAt === null) return { due: true, periodKey };
  return { due: digestSlot(s, s.lastDigestAt) !== periodKey, periodKey };
}
