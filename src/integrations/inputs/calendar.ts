import ical, { type VEvent } from 'node-ical';
import { isTimeZone, type Occurrence } from '../../core/inputs.js';
import { decodeDocument, UnreadableDocument } from './decode.js';

/**
 * iCalendar (RFC 5545) to occurrences, by node-ical 0.26 (0.27 needs Node 22): it expands RRULE with
 * EXDATE and RECURRENCE-ID overrides and maps TZIDs, Windows names included ("W. Europe Standard Time").
 * It does not expand RDATE (RFC 5545 section 3.8.5.2): those occurrences are added here, with the
 * event's duration. Lines it cannot read are skipped by node-ical, as RFC 5545 readers should.
 *
 * The clock is the caller's (`now`), so tests move time without touching the process.
 * Keys: a one-off event is its UID; an occurrence of a recurring one is `UID|<original start>`, the
 * RECURRENCE-ID of an override, so a moved occurrence keeps its key and reads as moved.
 */

const DAY = 24 * 3600 * 1000;

/** How far back and ahead occurrences are read (wider than the 36 h window, so an event moved out of it is seen as moved, not gone). */
export const READ_BEHIND_MS = DAY;
export const READ_AHEAD_MS = 14 * DAY;

type Param = string | { val?: unknown; params?: Record<string, unknown> } | undefined;
const text = (v: unknown): string | null => {
  if (typeof v === 'string') return v.trim() || null;
  if (v && typeof v === 'object' && 'val' in v) return text((v as { val: unknown }).val);
  return null;
};

/** Offset of `tz` from UTC at instant `t`, in ms. */
function offsetMs(t: number, tz: string): number {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(t))
      .map((x) => [x.type, x.value]),
  ) as Record<string, string>;
  return Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) - Math.floor(t / 1000) * 1000;
}

/** A wall-clock time in `tz` as an instant (the later reading in a DST gap, the first in an overlap). */
export function zonedToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): Date {
  const guess = Date.UTC(y, mo, d, h, mi, s);
  let t = guess - offsetMs(guess, tz);
  t = guess - offsetMs(t, tz);
  return new Date(t);
}

/** An all-day date (node-ical makes it a local-midnight Date) as midnight in the input's zone. */
function dayStart(d: Date, tz: string): Date {
  return zonedToUtc(d.getFullYear(), d.getMonth(), d.getDate(), 0, 0, 0, tz);
}

function isAllDay(ev: VEvent): boolean {
  return ev.datetype === 'date' || Boolean((ev.start as { dateOnly?: boolean } | undefined)?.dateOnly);
}

/** RDATE values: `20261210T150000`, `...Z`, `20261210` (a date), comma-separated, one or several lines. */
function rdatesOf(ev: VEvent, tz: string): { start: Date; dateOnly: boolean }[] {
  const raw = (ev as unknown as { rdate?: Param | Param[] }).rdate;
  if (!raw) return [];
  const out: { start: Date; dateOnly: boolean }[] = [];
  for (const entry of Array.isArray(raw) ? raw : [raw]) {
    const value = typeof entry === 'string' ? entry : typeof entry?.val === 'string' ? entry.val : entry?.val instanceof Date ? entry.val.toISOString() : '';
    const tzid = typeof entry === 'object' && typeof entry.params?.TZID === 'string' ? entry.params.TZID : null;
    // node-ical already mapped the DTSTART's TZID (a Windows name too): an RDATE in the same zone uses that.
    const evTz = (ev.start as { tz?: string } | undefined)?.tz;
    const zone = tzid && isTimeZone(tzid) ? tzid : evTz && isTimeZone(evTz) ? evTz : 'UTC';
    for (const v of value.split(',')) {
      const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(v.trim());
      if (m) {
        const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
        if (!m[4]) out.push({ start: zonedToUtc(y, mo - 1, d, 0, 0, 0, tz), dateOnly: true });
        else if (m[7]) out.push({ start: new Date(Date.UTC(y, mo - 1, d, h, mi, s)), dateOnly: false });
        else out.push({ start: zonedToUtc(y, mo - 1, d, h, mi, s, zone), dateOnly: false });
      } else {
        const iso = new Date(v.trim());
        if (!Number.isNaN(iso.getTime())) out.push({ start: iso, dateOnly: false });
      }
    }
  }
  return out;
}

const isoKeyOf = (d: Date) => d.toISOString();

function occurrenceOf(ev: Omit<VEvent, 'recurrences'>, key: string, start: Date, end: Date, allDay: boolean, baseCancelled: boolean): Occurrence {
  return {
    key,
    uid: String(ev.uid ?? key),
    start,
    end: end.getTime() > start.getTime() ? end : new Date(start.getTime() + (allDay ? DAY : 0)),
    allDay,
    summary: text(ev.summary) ?? 'Event',
    location: text(ev.location),
    url: text((ev as unknown as { url?: unknown }).url),
    cancelled: baseCancelled || String(ev.status ?? '').toUpperCase() === 'CANCELLED',
  };
}

export interface CalendarOptions {
  now: Date;
  /** The input's zone: all-day events start at midnight there, floating times are read there. */
  tz: string;
}

/** Every occurrence starting between now - 1 day and now + 14 days, sorted by start. Throws UnreadableDocument. */
export function parseCalendarDocument(body: Buffer, contentType: string | undefined, opts: CalendarOptions): Occurrence[] {
  const doc = decodeDocument(body, contentType);
  if (!/^\s*BEGIN:VCALENDAR/i.test(doc.replace(/^\uFEFF/, ''))) throw new UnreadableDocument('the document is not an iCalendar (it does not start with BEGIN:VCALENDAR)');
  let data: ReturnType<typeof ical.sync.parseICS>;
  try {
    data = ical.sync.parseICS(doc);
  } catch (e) {
    throw new UnreadableDocument(`the calendar could not be parsed (${e instanceof Error ? e.message : String(e)})`);
  }
  const from = new Date(opts.now.getTime() - READ_BEHIND_MS);
  const to = new Date(opts.now.getTime() + READ_AHEAD_MS);
  const out: Occurrence[] = [];
  const inRange = (d: Date) => d >= from && d <= to;
  for (const comp of Object.values(data)) {
    if (!comp || comp.type !== 'VEVENT') continue;
    const ev = comp;
    if (!(ev.start instanceof Date) || Number.isNaN(ev.start.getTime())) continue;
    const allDay = isAllDay(ev);
    const startOf = (d: Date) => (allDay ? dayStart(d, opts.tz) : d);
    const durationMs = ev.end instanceof Date ? ev.end.getTime() - ev.start.getTime() : allDay ? DAY : 0;
    const rdates = rdatesOf(ev, opts.tz);
    const uid = String(ev.uid ?? '');
    const baseCancelled = String(ev.status ?? '').toUpperCase() === 'CANCELLED';
    if (!ev.rrule && !rdates.length) {
      const start = startOf(ev.start);
      const end = ev.end instanceof Date ? startOf(ev.end) : new Date(start.getTime() + durationMs);
      if (inRange(start)) out.push(occurrenceOf(ev, uid, start, end, allDay, false));
      continue;
    }
    const seen = new Set<string>();
    if (ev.rrule) {
      let instances: ReturnType<typeof ical.expandRecurringEvent> = [];
      try {
        instances = ical.expandRecurringEvent(ev, { from, to });
      } catch {
        instances = [];
      }
      for (const i of instances) {
        const original = i.isOverride && i.event.recurrenceid instanceof Date ? i.event.recurrenceid : i.start;
        const key = `${uid}|${isoKeyOf(startOf(original))}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const start = startOf(i.start);
        const end = i.isFullDay ? startOf(i.end) : i.end;
        out.push(occurrenceOf(i.event, key, start, end, i.isFullDay || allDay, baseCancelled));
      }
    } else {
      // RDATE without RRULE: DTSTART is an occurrence too.
      rdates.push({ start: ev.start, dateOnly: allDay });
    }
    const exdates = new Set(Object.values(ev.exdate ?? {}).map((d) => (d instanceof Date ? isoKeyOf(startOf(d)) : '')));
    const overrides = ev.recurrences ?? {};
    for (const r of rdates) {
      const original = r.dateOnly && !allDay ? r.start : startOf(r.start);
      const key = `${uid}|${isoKeyOf(original)}`;
      if (seen.has(key) || exdates.has(isoKeyOf(original))) continue;
      seen.add(key);
      const override = Object.values(overrides).find((o) => o.recurrenceid instanceof Date && isoKeyOf(startOf(o.recurrenceid)) === isoKeyOf(original));
      if (override && override.start instanceof Date) {
        const s = startOf(override.start);
        const e = override.end instanceof Date ? startOf(override.end) : new Date(s.getTime() + durationMs);
        if (inRange(s)) out.push(occurrenceOf(override, key, s, e, allDay, baseCancelled));
      } else if (inRange(original)) {
        out.push(occurrenceOf(ev, key, original, new Date(original.getTime() + durationMs), allDay, baseCancelled));
      }
    }
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime() || a.key.localeCompare(b.key));
}
