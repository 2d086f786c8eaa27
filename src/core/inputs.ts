import { z } from 'zod';

/**
 * Inputs (SPEC section 7): the pure rules. Feeds and calendars become statuses of a service; this file
 * holds what a status says, how often to come back after a failure, and the shapes the parsers hand
 * to the use cases. No I/O (Intl formatting only).
 */

export type InputKind = 'feed' | 'calendar';
export type InputState = 'active' | 'failing' | 'disabled';

export const DEFAULT_EVERY_S = 300;
export const MIN_EVERY_S = 60;
export const DEFAULT_REMIND_MIN = 10;
/** One poll posts at most this many items (oldest first); the rest are summed up in one status. */
export const MAX_ITEMS_PER_POLL = 5;
/** Calendar statuses concern events starting within this window. */
export const CALENDAR_WINDOW_MS = 36 * 60 * 60 * 1000;
export const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;
/** An input failing this long is disabled and its owners told. */
export const DISABLE_AFTER_MS = 3 * 24 * 60 * 60 * 1000;
/** Retry-After is honoured up to this long. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;
const MAX_TEXT = 1000;

/** One feed item, normalised from RSS 2.0/1.0, Atom or JSON Feed. `key` is its identity (id/guid, else link, else a content hash). */
export interface FeedItem {
  key: string;
  id: string | null;
  link: string | null;
  title: string;
  date: Date | null;
}

export interface ParsedFeed {
  home: string | null;
  items: FeedItem[];
}

/** One occurrence of a calendar event (a recurring event's instances each have their own key). */
export interface Occurrence {
  key: string;
  uid: string;
  start: Date;
  end: Date;
  allDay: boolean;
  summary: string;
  location: string | null;
  url: string | null;
  cancelled: boolean;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const inputKindSchema = z.enum(['feed', 'calendar']);
export const everySchema = z.number().int().min(MIN_EVERY_S, `every is at least ${MIN_EVERY_S} seconds`).max(7 * 24 * 3600);
export const remindSchema = z.number().int().min(0).max(7 * 24 * 60);
export const tzSchema = z.string().min(1).max(64).refine(isTimeZone, 'tz must be an IANA time zone, e.g. Europe/Berlin');

const chars = (s: string) => [...s];
/** Cuts to `max` code points, with an ellipsis when cut. */
export function cut(s: string, max: number): string {
  const c = chars(s);
  if (c.length <= max) return s;
  return max <= 1 ? c.slice(0, max).join('') : `${c.slice(0, max - 1).join('').trimEnd()}…`;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** `title link`, the title cut so the whole fits 1,000 characters; the link is kept whole. */
export function feedItemText(item: Pick<FeedItem, 'title' | 'link'>): string {
  const title = oneLine(item.title);
  const link = item.link && chars(item.link).length <= MAX_TEXT - 2 ? item.link : null;
  if (!link) return cut(title || 'New item', MAX_TEXT);
  if (!title) return link;
  return `${cut(title, MAX_TEXT - chars(link).length - 1)} ${link}`;
}

export function moreItemsText(n: number, where: string): string {
  return cut(`and ${n} more new item${n === 1 ? '' : 's'}: ${where}`, MAX_TEXT);
}

/** The zone's short name: `CET`, `EST`, `UTC`, or `GMT+9` where the zone has no common abbreviation. */
function zoneName(at: Date, tz: string): string {
  const name = (locale: string) =>
    new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: 'short' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? tz;
  const gb = name('en-GB');
  return gb.startsWith('GMT+') || gb.startsWith('GMT-') ? name('en-US') : gb;
}

const hhmm = (d: Date, tz: string) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
const dayOf = (d: Date, tz: string) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short' }).format(d);
/** `10:00-10:30 CET`, `Thu 3 Dec 10:00-10:30 CET` with the day, `all day` / `Thu 3 Dec, all day` for all-day events (whose start and end are midnights in `tz`). */
export function whenText(o: Pick<Occurrence, 'start' | 'end' | 'allDay'>, tz: string, withDay: boolean): string {
  if (o.allDay) {
    const lastDay = new Date(Math.max(o.start.getTime(), o.end.getTime() - 1));
    const days = dayOf(lastDay, tz) === dayOf(o.start, tz) ? dayOf(o.start, tz) : `${dayOf(o.start, tz)} to ${dayOf(lastDay, tz)}`;
    return withDay ? `${days}, all day` : 'all day';
  }
  const day = withDay ? `${dayOf(o.start, tz)} ` : '';
  const endDay = dayOf(o.end, tz) !== dayOf(o.start, tz) ? `${dayOf(o.end, tz)} ` : '';
  return `${day}${hhmm(o.start, tz)}-${endDay}${hhmm(o.end, tz)} ${zoneName(o.start, tz)}`;
}

/** `<lead><summary>, <when>[, <location>][ <url>]`, the summary (then the location) cut to fit. */
function eventText(lead: string, o: Pick<Occurrence, 'summary' | 'location' | 'url'>, when: string): string {
  const url = o.url && chars(o.url).length < 300 ? ` ${o.url}` : '';
  const location = o.location ? `, ${cut(oneLine(o.location), 200)}` : '';
  const fixed = chars(lead).length + chars(`, ${when}`).length + chars(location).length + chars(url).length;
  const summary = cut(oneLine(o.summary) || 'Event', Math.max(10, MAX_TEXT - fixed));
  return cut(`${lead}${summary}, ${when}${location}${url}`, MAX_TEXT);
}

/** Minutes until the start, as a reminder says it: `In 10 min`, `In 2 h`, `In 1 h 30 min`. */
function inText(ms: number): string {
  const min = Math.max(1, Math.round(ms / 60000));
  if (min < 60) return `In ${min} min`;
  const h = Math.floor(min / 60);
  const m = min % 60;
  return `In ${h} h${m ? ` ${m} min` : ''}`;
}

/** `In 10 min: Sprint review, 10:00-10:30 CET, Room 4 <url>` */
export function reminderText(o: Occurrence, tz: string, now: Date): string {
  return eventText(`${inText(o.start.getTime() - now.getTime())}: `, o, whenText(o, tz, false));
}

/** `Moved: Sprint review, now Thu 3 Dec 11:00-11:30 CET (was 10:00-10:30 CET), Room 4` */
export function movedText(o: Occurrence, was: Pick<Occurrence, 'start' | 'end' | 'allDay'>, tz: string): string {
  return eventText('Moved: ', o, `now ${whenText(o, tz, true)} (was ${whenText(was, tz, true)})`);
}

/** `Cancelled: Sprint review, Thu 3 Dec 10:00-10:30 CET, Room 4` */
export function cancelledText(o: Occurrence, tz: string): string {
  return eventText('Cancelled: ', o, whenText(o, tz, true));
}

/** After the n-th failure in a row (n >= 1): twice the interval, doubling each time, at most 6 hours. */
export function backoffMs(everyS: number, failures: number): number {
  return Math.min(MAX_BACKOFF_MS, everyS * 1000 * 2 ** Math.min(20, Math.max(1, failures)));
}

/** A Retry-After is honoured (never sooner than the input's interval, never longer than a day). */
export function retryAfterDelayMs(everyS: number, retryAfterMs: number): number {
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(everyS * 1000, retryAfterMs));
}

/**
 * The oldest first: by date when every item has one, else the reverse of the document order (feeds
 * list the newest first). A date never decides identity, only order.
 */
export function oldestFirst<T extends Pick<FeedItem, 'date'>>(items: readonly T[]): T[] {
  if (items.length && items.every((i) => i.date)) return [...items].sort((a, b) => a.date!.getTime() - b.date!.getTime());
  return [...items].reverse();
}
