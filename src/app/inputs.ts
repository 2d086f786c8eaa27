import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import {
  backoffMs,
  cancelledText,
  CALENDAR_WINDOW_MS,
  DEFAULT_EVERY_S,
  DEFAULT_REMIND_MIN,
  DISABLE_AFTER_MS,
  feedItemText,
  MAX_ITEMS_PER_POLL,
  moreItemsText,
  movedText,
  oldestFirst,
  reminderText,
  retryAfterDelayMs,
  type InputKind,
  type InputState,
  type Occurrence,
  type ParsedFeed,
} from '../core/inputs.js';
import { conflict, forbidden, invalid, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Config } from '../config.js';
import type { DbOrTx } from '../db/client.js';
import { inputEvents, inputItems, inputs, sources } from '../db/schema.js';
import { addressPolicy, DestinationRefused, resolveAndCheck, type AddressPolicy, type LookupFn } from '../net/address-guard.js';
import type { AppContext } from './context.js';
import { writeOutbox } from './outbox.js';
import { handlesOf, mayActAs, ownerIdsOf, requireSource, type SourceRow } from './people.js';
import { insertStatus } from './statuses.js';

/**
 * Inputs (SPEC section 7): a service's feeds and calendars. The management use cases (API, CLI, chat)
 * and the write half of a poll: what a poll found is applied in ONE transaction that locks the input,
 * checks that this due time was not polled yet, records the items/occurrences and creates the statuses
 * (through insertStatus, the API's own path), so a crash or a second worker never posts twice.
 */

export type InputRow = typeof inputs.$inferSelect;

export interface InputView {
  id: string;
  service: string;
  kind: InputKind;
  url: string;
  every: number;
  remind?: number;
  tz?: string;
  state: InputState;
  last_polled_at: string | null;
  next_poll_at: string | null;
  last_error?: string;
  created_at: string;
}

export function toInputView(row: InputRow, serviceHandle: string): InputView {
  return {
    id: row.id,
    service: serviceHandle,
    kind: row.kind,
    url: row.url,
    every: row.everyS,
    ...(row.kind === 'calendar' ? { remind: row.remindMin ?? DEFAULT_REMIND_MIN, tz: row.tz ?? 'UTC' } : {}),
    state: row.state,
    last_polled_at: row.lastPolledAt?.toISOString() ?? null,
    next_poll_at: row.state === 'disabled' ? null : row.nextFetchAt.toISOString(),
    ...(row.lastError ? { last_error: row.lastError } : {}),
    created_at: row.createdAt.toISOString(),
  };
}

export interface Actor {
  id: string | null;
  isAdmin: boolean;
}

/** Where input URLs may point: the private-address guard's policy (and DNS, injectable for tests). */
export interface UrlGuard {
  policy: AddressPolicy;
  lookup?: LookupFn;
}

/** The guard from the configuration: private addresses only with the private-URL switch on. */
export function urlGuardOf(config: Pick<Config, 'net'>): UrlGuard {
  return { policy: addressPolicy(config.net.allowPrivateUrls) };
}

const MAX_URL = 2048;

/** The save-time half of the guard: http(s), and a host whose every address the policy allows. */
export async function checkInputUrl(raw: string, guard: UrlGuard): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid(`"${raw.slice(0, 100)}" is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`The input URL must be http or https, not ${url.protocol.replace(/:$/, '')}.`);
  if (url.href.length > MAX_URL) throw invalid(`The input URL is longer than ${MAX_URL} characters.`);
  if (url.username || url.password) throw invalid('The input URL must not carry a user name or password.');
  try {
    await resolveAndCheck(url, { policy: guard.policy, ...(guard.lookup ? { lookup: guard.lookup } : {}) });
  } catch (e) {
    if (e instanceof DestinationRefused) throw invalid(`The input URL is refused: ${e.reason}.`);
    throw e;
  }
  return url.href;
}

async function requireService(ctx: Pick<AppContext, 'db'>, actor: Actor, handle: string): Promise<SourceRow> {
  const s = await requireSource(ctx, handle.startsWith('@') ? handle : `@${handle}`);
  if (s.kind !== 'service') throw invalid(`@${s.handle} is a person; inputs belong to services.`);
  if (!(await mayActAs(ctx.db, actor, s.id))) throw forbidden(`Only @${s.handle}'s owners and admins manage its inputs.`);
  return s;
}

/** The input and its service, when the actor may manage it; otherwise 404 (an input is not revealed). */
async function requireInput(ctx: Pick<AppContext, 'db'>, actor: Actor, id: string): Promise<{ row: InputRow; handle: string }> {
  const rows = await ctx.db.select({ i: inputs, handle: sources.handle }).from(inputs).innerJoin(sources, eq(sources.id, inputs.serviceId)).where(eq(inputs.id, id)).limit(1);
  const r = rows[0];
  if (!r || !(await mayActAs(ctx.db, actor, r.i.serviceId))) throw notFound(`No input ${id}.`);
  return { row: r.i, handle: r.handle };
}

export interface NewInput {
  kind: InputKind;
  url: string;
  every?: number | undefined;
  remind?: number | undefined;
  tz?: string | undefined;
}

export async function createInput(ctx: AppContext, actor: Actor, serviceHandle: string, body: NewInput, guard: UrlGuard = urlGuardOf(ctx.config)): Promise<InputView> {
  const service = await requireService(ctx, actor, serviceHandle);
  if (body.kind === 'feed' && (body.remind !== undefined || body.tz !== undefined)) throw invalid('remind and tz are for calendars only.');
  const url = await checkInputUrl(body.url, guard);
  const now = ctx.clock.now();
  const [row] = await ctx.db
    .insert(inputs)
    .values({
      id: newId(now.getTime()),
      serviceId: service.id,
      kind: body.kind,
      url,
      everyS: body.every ?? DEFAULT_EVERY_S,
      remindMin: body.kind === 'calendar' ? (body.remind ?? DEFAULT_REMIND_MIN) : null,
      tz: body.kind === 'calendar' ? (body.tz ?? 'UTC') : null,
      nextFetchAt: now,
      dueAt: now,
      createdBy: actor.id,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return toInputView(row!, service.handle);
}

export async function listInputs(ctx: AppContext, actor: Actor, serviceHandle: string): Promise<{ service: SourceRow; items: InputView[] }> {
  const service = await requireService(ctx, actor, serviceHandle);
  const rows = await ctx.db.select().from(inputs).where(eq(inputs.serviceId, service.id)).orderBy(asc(inputs.createdAt), asc(inputs.id));
  return { service, items: rows.map((r) => toInputView(r, service.handle)) };
}

export async function getInput(ctx: AppContext, actor: Actor, id: string): Promise<InputView> {
  const { row, handle } = await requireInput(ctx, actor, id);
  return toInputView(row, handle);
}

export interface InputChange {
  every?: number | undefined;
  remind?: number | undefined;
  enabled?: boolean | undefined;
}

export async function updateInput(ctx: AppContext, actor: Actor, id: string, change: InputChange): Promise<InputView> {
  const { row, handle } = await requireInput(ctx, actor, id);
  if (change.remind !== undefined && row.kind !== 'calendar') throw invalid('remind is for calendars only.');
  const now = ctx.clock.now();
  const set: Partial<typeof inputs.$inferInsert> = { updatedAt: now };
  if (change.every !== undefined) set.everyS = change.every;
  if (change.remind !== undefined) set.remindMin = change.remind;
  if (change.enabled === false) set.state = 'disabled';
  if (change.enabled === true && row.state === 'disabled') Object.assign(set, { state: 'active', failures: 0, failingSince: null, lastError: null, nextFetchAt: now, dueAt: now });
  const [updated] = await ctx.db.update(inputs).set(set).where(eq(inputs.id, row.id)).returning();
  return toInputView(updated!, handle);
}

export async function deleteInput(ctx: AppContext, actor: Actor, id: string): Promise<void> {
  const { row } = await requireInput(ctx, actor, id);
  await ctx.db.delete(inputs).where(eq(inputs.id, row.id));
}

/** Poll now: due at once (the sweeper hands it to a worker within a second or two). 409 when disabled. */
export async function pollInputNow(ctx: AppContext, actor: Actor, id: string): Promise<InputView> {
  const { row, handle } = await requireInput(ctx, actor, id);
  if (row.state === 'disabled') throw conflict(`Input ${id} is disabled; enable it first (PATCH {"enabled": true}).`);
  const now = ctx.clock.now();
  const [updated] = await ctx.db.update(inputs).set({ nextFetchAt: now, dueAt: now, updatedAt: now }).where(eq(inputs.id, row.id)).returning();
  return toInputView(updated!, handle);
}

/** The chat's `inputs @service`: one line per input with its state, last and next poll, last error. */
export async function inputLines(ctx: AppContext, actor: Actor, serviceHandle: string): Promise<{ handle: string; lines: string[] }> {
  const { service, items } = await listInputs(ctx, actor, serviceHandle);
  const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC') : 'never');
  return {
    handle: service.handle,
    lines: items.map(
      (i) =>
        `${i.kind} ${i.url}: ${i.state}, every ${Math.round(i.every / 60)} min${i.kind === 'calendar' ? `, remind ${i.remind} min before (${i.tz})` : ''}; last poll ${when(i.last_polled_at)}${i.next_poll_at ? `, next ${when(i.next_poll_at)}` : ''}${i.last_error ? `; last error: ${i.last_error}` : ''} (id ${i.id})`,
    ),
  };
}

// ---- The write half of a poll (called by the poller in integrations/inputs).

export async function inputForPoll(db: DbOrTx, id: string): Promise<InputRow | null> {
  const rows = await db.select().from(inputs).where(eq(inputs.id, id)).limit(1);
  return rows[0] ?? null;
}

/** What the fetch said, beyond the body. */
export interface FetchMeta {
  etag?: string | undefined;
  lastModified?: string | undefined;
  /** A chain of permanent redirects: the URL to keep from now on. */
  permanentUrl?: string | undefined;
}

export type ApplyResult = 'applied' | 'stale';

type Tx = Parameters<Parameters<AppContext['db']['transaction']>[0]>[0];

/** Locks the input; null when it is gone, disabled, or this due time (or a later one) was already polled. */
async function lockDue(tx: Tx, inputId: string, due: Date): Promise<InputRow | null> {
  const rows = await tx.select().from(inputs).where(eq(inputs.id, inputId)).for('update').limit(1);
  const row = rows[0];
  if (!row || row.state === 'disabled') return null;
  if (row.lastDueAt && row.lastDueAt.getTime() >= due.getTime()) return null;
  return row;
}

const validators = (row: InputRow, meta: FetchMeta | null) =>
  meta ? { etag: meta.etag ?? row.etag, lastModified: meta.lastModified ?? row.lastModified, url: meta.permanentUrl ?? row.url } : {};

const source = (row: InputRow) => ({ id: row.serviceId });

/** The n-th status of one poll is created n ms after the first: ids are time-ordered, so timelines keep the poll's order. */
const inOrder = (now: Date, n: number) => new Date(now.getTime() + n);

/**
 * A feed poll's result: `feed` null for a 304 (nothing changes but the times). The first poll records
 * what is there and posts nothing; later ones post the 5 oldest new items, oldest first, and sum the
 * rest up in one status.
 */
export async function applyFeedPoll(ctx: AppContext, a: { inputId: string; due: Date; meta: FetchMeta | null; feed: ParsedFeed | null }): Promise<ApplyResult> {
  const now = ctx.clock.now();
  let posted = 0;
  const result = await ctx.db.transaction(async (tx): Promise<ApplyResult> => {
    const row = await lockDue(tx, a.inputId, a.due);
    if (!row) return 'stale';
    if (a.feed && a.feed.items.length) {
      const keys = a.feed.items.map((i) => i.key);
      const known = new Set((await tx.select({ key: inputItems.key }).from(inputItems).where(and(eq(inputItems.inputId, row.id), inArray(inputItems.key, keys)))).map((r) => r.key));
      const fresh = a.feed.items.filter((i) => !known.has(i.key));
      const record = async (key: string, statusId: string | null) => {
        await tx.insert(inputItems).values({ inputId: row.id, key, statusId, firstSeenAt: now }).onConflictDoNothing();
      };
      if (!row.baselined) {
        for (const i of fresh) await record(i.key, null);
      } else if (fresh.length) {
        const ordered = oldestFirst(fresh);
        for (const [n, i] of ordered.entries()) {
          if (n >= MAX_ITEMS_PER_POLL) {
            await record(i.key, null);
            continue;
          }
          const s = await insertStatus(
            tx,
            source(row),
            {
              sourceId: row.serviceId,
              text: feedItemText(i),
              platform: 'feed',
              dedupeKey: `in:${row.id}:${i.key}`,
              input: { kind: 'feed', id: row.id, item: { id: i.id ?? i.link, link: i.link, title: i.title } },
            },
            inOrder(now, posted),
          );
          await record(i.key, s.id);
          posted++;
        }
        const more = ordered.length - MAX_ITEMS_PER_POLL;
        if (more > 0) {
          await insertStatus(
            tx,
            source(row),
            { sourceId: row.serviceId, text: moreItemsText(more, a.feed.home ?? row.homeUrl ?? row.url), platform: 'feed', dedupeKey: `in:${row.id}:more:${a.due.getTime()}`, input: { kind: 'feed', id: row.id } },
            inOrder(now, posted),
          );
          posted++;
        }
      }
    }
    const nextFetchAt = new Date(now.getTime() + row.everyS * 1000);
    await tx
      .update(inputs)
      .set({
        ...validators(row, a.meta),
        ...(a.feed ? { baselined: true, parsedAt: now, homeUrl: a.feed.home ?? row.homeUrl } : {}),
        state: 'active',
        lastError: null,
        failures: 0,
        failingSince: null,
        lastPolledAt: now,
        nextFetchAt,
        dueAt: nextFetchAt,
        lastDueAt: a.due,
        updatedAt: now,
      })
      .where(eq(inputs.id, row.id));
    return 'applied';
  });
  if (posted) ctx.kick();
  return result;
}

type EventRow = typeof inputEvents.$inferSelect;

const eventPayload = (row: InputRow, o: Pick<Occurrence, 'uid' | 'start' | 'end' | 'summary' | 'location'>) => ({
  kind: 'calendar',
  id: row.id,
  event: { uid: o.uid, start: o.start.toISOString(), end: o.end.toISOString(), summary: o.summary, ...(o.location ? { location: o.location } : {}) },
});

const asOccurrence = (e: EventRow): Occurrence => ({
  key: e.key,
  uid: e.uid,
  start: e.startAt,
  end: e.endAt,
  allDay: e.allDay,
  summary: e.summary,
  location: e.location,
  url: e.url,
  cancelled: e.cancelled,
});

/** The earliest reminder still to come among the stored occurrences, or null. */
function nextReminderAt(events: EventRow[], remindMin: number, now: Date): Date | null {
  let best: number | null = null;
  for (const e of events) {
    if (e.reminded || e.cancelled || e.startAt <= now) continue;
    const at = e.startAt.getTime() - remindMin * 60000;
    if (best === null || at < best) best = at;
  }
  return best === null ? null : new Date(Math.max(best, now.getTime() + 1000));
}

/**
 * A calendar poll's result: `occurrences` null when the document was not read (304, or a wake for a
 * reminder between fetches). Reconciles the stored occurrences (Moved:, Cancelled:, never on the first
 * poll), posts the reminders that are due (never after the event started; each expires at its start),
 * and sets the next wake-up: the next fetch or the next reminder, whichever is first.
 */
export async function applyCalendarPoll(
  ctx: AppContext,
  a: { inputId: string; due: Date; meta: FetchMeta | null; fetched: boolean; occurrences: Occurrence[] | null },
): Promise<ApplyResult> {
  const now = ctx.clock.now();
  let posted = 0;
  const result = await ctx.db.transaction(async (tx): Promise<ApplyResult> => {
    const row = await lockDue(tx, a.inputId, a.due);
    if (!row) return 'stale';
    const tz = row.tz ?? 'UTC';
    const remindMin = row.remindMin ?? DEFAULT_REMIND_MIN;
    const horizon = now.getTime() + CALENDAR_WINDOW_MS;
    const post = async (text: string, kind: string, o: Occurrence, expiresAt: Date | null) => {
      await insertStatus(tx, source(row), { sourceId: row.serviceId, text, platform: 'calendar', dedupeKey: `in:${row.id}:${kind}:${o.key}`, expiresAt, input: eventPayload(row, o) }, inOrder(now, posted));
      posted++;
    };
    const stored = await tx.select().from(inputEvents).where(eq(inputEvents.inputId, row.id));
    const byKey = new Map(stored.map((e) => [e.key, e]));
    if (a.occurrences) {
      const announce = row.baselined;
      const found = new Set<string>();
      for (const o of a.occurrences) {
        found.add(o.key);
        const e = byKey.get(o.key);
        if (!e) {
          if (o.cancelled || o.start <= now || o.start.getTime() > horizon) continue;
          const [ins] = await tx
            .insert(inputEvents)
            .values({ inputId: row.id, key: o.key, uid: o.uid, startAt: o.start, endAt: o.end, allDay: o.allDay, summary: o.summary, location: o.location, url: o.url, updatedAt: now })
            .returning();
          byKey.set(o.key, ins!);
          continue;
        }
        const upcoming = e.startAt > now;
        const inWindow = e.reminded || e.startAt.getTime() <= horizon || o.start.getTime() <= horizon;
        const set: Partial<typeof inputEvents.$inferInsert> = { summary: o.summary, location: o.location, url: o.url, uid: o.uid, updatedAt: now };
        if (o.cancelled && !e.cancelled) {
          set.cancelled = true;
          if (announce && upcoming && inWindow && !e.cancelAnnounced) {
            await post(cancelledText({ ...o, start: e.startAt, end: e.endAt, allDay: e.allDay }, tz), 'cancelled', o, null);
            set.cancelAnnounced = true;
          }
        } else if (!o.cancelled && (o.start.getTime() !== e.startAt.getTime() || o.end.getTime() !== e.endAt.getTime())) {
          Object.assign(set, { startAt: o.start, endAt: o.end, allDay: o.allDay, cancelled: false });
          if (announce && upcoming && inWindow && !e.movedAnnounced) {
            await post(movedText(o, { start: e.startAt, end: e.endAt, allDay: e.allDay }, tz), 'moved', o, null);
            set.movedAnnounced = true;
          }
        }
        const [upd] = await tx.update(inputEvents).set(set).where(and(eq(inputEvents.inputId, row.id), eq(inputEvents.key, e.key))).returning();
        byKey.set(e.key, upd!);
      }
      // Gone from the calendar (deleted, or an EXDATE added): cancelled, if it had not started.
      for (const e of stored) {
        if (found.has(e.key) || e.cancelled || e.startAt <= now) continue;
        const set: Partial<typeof inputEvents.$inferInsert> = { cancelled: true, updatedAt: now };
        if (announce && !e.cancelAnnounced && (e.reminded || e.startAt.getTime() <= horizon)) {
          await post(cancelledText(asOccurrence(e), tz), 'cancelled', asOccurrence(e), null);
          set.cancelAnnounced = true;
        }
        const [upd] = await tx.update(inputEvents).set(set).where(and(eq(inputEvents.inputId, row.id), eq(inputEvents.key, e.key))).returning();
        byKey.set(e.key, upd!);
      }
    }
    // Reminders due now; never once the event has started. A reminder expires at the start, so quiet hours
    // holding it past the start skip it (reason `expired`).
    for (const e of [...byKey.values()].sort((x, y) => x.startAt.getTime() - y.startAt.getTime())) {
      if (e.reminded || e.cancelled || e.startAt <= now) continue;
      if (e.startAt.getTime() - remindMin * 60000 > now.getTime()) continue;
      const o = asOccurrence(e);
      await post(reminderText(o, tz, now), 'remind', o, e.startAt);
      const [upd] = await tx.update(inputEvents).set({ reminded: true, updatedAt: now }).where(and(eq(inputEvents.inputId, row.id), eq(inputEvents.key, e.key))).returning();
      byKey.set(e.key, upd!);
    }
    await tx.delete(inputEvents).where(and(eq(inputEvents.inputId, row.id), lt(inputEvents.endAt, new Date(now.getTime() - 24 * 3600 * 1000))));
    const nextFetchAt = a.fetched ? new Date(now.getTime() + row.everyS * 1000) : row.nextFetchAt;
    const wake = nextReminderAt([...byKey.values()], remindMin, now);
    const dueAt = wake && wake < nextFetchAt ? wake : nextFetchAt;
    const fetchedSet = a.fetched
      ? { ...validators(row, a.meta), state: 'active' as const, lastError: null, failures: 0, failingSince: null, lastPolledAt: now, ...(a.occurrences ? { baselined: true, parsedAt: now } : {}) }
      : {};
    await tx
      .update(inputs)
      .set({ ...fetchedSet, nextFetchAt, dueAt, lastDueAt: a.due, updatedAt: now })
      .where(eq(inputs.id, row.id));
    return 'applied';
  });
  if (posted) ctx.kick();
  return result;
}

export interface PollFailure {
  inputId: string;
  due: Date;
  error: string;
  /** 429/503 with Retry-After: come back then, without doubling. */
  retryAfterMs?: number | undefined;
  /** 410 Gone: disable at once. */
  gone?: boolean;
  permanentUrl?: string | undefined;
}

/**
 * A failed poll: `failing` with the error, backing off (doubling, at most 6 h) or after Retry-After;
 * 410, or 3 days of failures, disables the input and tells its owners by DM (the notice path). A
 * calendar still wakes for the reminders of what it already knows.
 */
export async function recordPollFailure(ctx: AppContext, f: PollFailure): Promise<ApplyResult> {
  const now = ctx.clock.now();
  let told = false;
  const result = await ctx.db.transaction(async (tx): Promise<ApplyResult> => {
    const row = await lockDue(tx, f.inputId, f.due);
    if (!row) return 'stale';
    const failures = row.failures + 1;
    const failingSince = row.failingSince ?? now;
    const url = f.permanentUrl ?? row.url;
    const disable = f.gone || now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS;
    if (disable) {
      await tx
        .update(inputs)
        .set({ state: 'disabled', url, lastError: f.error, failures, failingSince, lastPolledAt: now, lastDueAt: f.due, updatedAt: now })
        .where(eq(inputs.id, row.id));
      const [svc] = await tx.select().from(sources).where(eq(sources.id, row.serviceId)).limit(1);
      if (svc) {
        const why = f.gone ? 'it answered 410 Gone' : 'it failed for 3 days';
        const text = `The ${row.kind} input of @${svc.handle} (${url}) is disabled: ${why}. Last error: ${f.error}. Re-enable it with PATCH /api/v1/inputs/${row.id} {"enabled": true}.`;
        for (const personId of await ownerIdsOf(tx, svc)) {
          await writeOutbox(tx, { event: 'notice', payload: { personId, message: { kind: 'notice', text }, key: `input-off:${row.id}:${now.getTime()}` } });
          told = true;
        }
      }
      return 'applied';
    }
    const delay = f.retryAfterMs !== undefined ? retryAfterDelayMs(row.everyS, f.retryAfterMs) : backoffMs(row.everyS, failures);
    const nextFetchAt = new Date(now.getTime() + delay);
    let dueAt = nextFetchAt;
    if (row.kind === 'calendar') {
      const events = await tx.select().from(inputEvents).where(eq(inputEvents.inputId, row.id));
      const wake = nextReminderAt(events, row.remindMin ?? DEFAULT_REMIND_MIN, now);
      if (wake && wake < dueAt) dueAt = wake;
    }
    await tx
      .update(inputs)
      .set({ state: 'failing', url, lastError: f.error, failures, failingSince, lastPolledAt: now, nextFetchAt, dueAt, lastDueAt: f.due, updatedAt: now })
      .where(eq(inputs.id, row.id));
    return 'applied';
  });
  if (told) ctx.kick();
  return result;
}

/** Owner handles of a service, for messages about its inputs. */
export async function ownersOfService(db: DbOrTx, service: SourceRow): Promise<string[]> {
  return handlesOf(db, await ownerIdsOf(db, service));
}

/** Inputs due now (for tests and tools; the sweeper claims them with SKIP LOCKED). */
export const dueInputsWhere = (now: Date) => and(sql`${inputs.state} <> 'disabled'`, sql`${inputs.dueAt} <= ${now.toISOString()}`);
