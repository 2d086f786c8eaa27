import { invalid } from './errors.js';

const HHMM = /^([01]?\d|2[0-3]):([0-5]\d)$/;

export function parseHhMm(raw: string, usage = 'quiet 22:00-07:00'): string {
  const m = HHMM.exec(raw.trim());
  if (!m) throw invalid(`"${raw}" is not a time of day; write it as HH:MM, e.g. 22:00.`, usage);
  return `${m[1]!.padStart(2, '0')}:${m[2]}`;
}

/** Minutes since midnight in `timeZone` at instant `at`. */
export function localMinutes(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const h = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return h * 60 + m;
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/**
 * If `at` falls inside the quiet period [start, end) in the person's time zone, the instant it ends;
 * otherwise null. Periods may wrap midnight (22:00-07:00).
 */
export function quietUntil(at: Date, timeZone: string, start: string | null, end: string | null): Date | null {
  if (!start || !end || start === end) return null;
  const now = localMinutes(at, timeZone);
  const s = toMinutes(start);
  const e = toMinutes(end);
  const inside = s < e ? now >= s && now < e : now >= s || now < e;
  if (!inside) return null;
  const minutesLeft = (e - now + 1440) % 1440 || 1440;
  // Land on the minute boundary at which the period ends.
  const startOfMinute = Math.floor(at.getTime() / 60_000) * 60_000;
  return new Date(startOfMinute + minutesLeft * 60_000);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
