import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInput, inputForPoll, pollInputNow, type UrlGuard } from '../../../src/app/inputs.js';
import { createPerson } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { insertStatus } from '../../../src/app/statuses.js';
import { newId } from '../../../src/core/ids.js';
import { deliveries, inputs, sources, statuses } from '../../../src/db/schema.js';
import { parseCalendarDocument } from '../../../src/integrations/inputs/calendar.js';
import { createInputPoller } from '../../../src/integrations/inputs/poller.js';
import { createDmChannel } from '../../../src/pipeline/channels/dm.js';
import { releaseHeld } from '../../../src/pipeline/release.js';
import { startFeedServer, type FeedServer } from '../../fakes/feed-server.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';

const guard: UrlGuard = { policy: (ip) => ip === '127.0.0.1' };
const admin = { id: null, isAdmin: true };
const ics = (...events: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...events, 'END:VCALENDAR'].join('\r\n');
const vevent = (lines: string[]) => ['BEGIN:VEVENT', ...lines, 'END:VEVENT'].join('\r\n');
const at = (iso: string) => new Date(iso);

describe('parseCalendarDocument (clock injected)', () => {
  const now = at('2026-12-03T08:00:00Z');
  const doc = ics(
    vevent([
      'UID:standup',
      'DTSTART;TZID=W. Europe Standard Time:20261203T100000',
      'DTEND;TZID=W. Europe Standard Time:20261203T101500',
      'RRULE:FREQ=DAILY;COUNT=5',
      'EXDATE;TZID=W. Europe Standard Time:20261205T100000',
      'RDATE;TZID=W. Europe Standard Time:20261210T150000',
      'SUMMARY:Standup',
      'LOCATION:Room 4',
    ]),
    vevent(['UID:standup', 'RECURRENCE-ID;TZID=W. Europe Standard Time:20261204T100000', 'DTSTART;TZID=W. Europe Standard Time:20261204T113000', 'DTEND;TZID=W. Europe Standard Time:20261204T114500', 'SUMMARY:Standup (late)']),
    vevent(['UID:holiday', 'DTSTART;VALUE=DATE:20261204', 'DTEND;VALUE=DATE:20261205', 'SUMMARY:Holiday']),
    vevent(['UID:ny', 'DTSTART;TZID=America/New_York:20261203T090000', 'DTEND;TZID=America/New_York:20261203T100000', 'SUMMARY:NY sync']),
    'X-GARBAGE this line means nothing',
    'not even a property line',
    vevent(['UID:off', 'DTSTART:20261203T120000Z', 'DTEND:20261203T130000Z', 'SUMMARY:Off', 'STATUS:CANCELLED']),
  );
  const occ = parseCalendarDocument(Buffer.from(doc), 'text/calendar', { now, tz: 'Europe/Berlin' });
  const get = (key: string) => occ.find((o) => o.key === key);

  it('expands RRULE with EXDATE and a RECURRENCE-ID override, and adds RDATEs, in Windows-named zones', () => {
    const standups = occ.filter((o) => o.uid === 'standup').map((o) => [o.start.toISOString(), o.summary]);
    expect(standups).toEqual([
      ['2026-12-03T09:00:00.000Z', 'Standup'],
      ['2026-12-04T10:30:00.000Z', 'Standup (late)'],
      ['2026-12-06T09:00:00.000Z', 'Standup'],
      ['2026-12-07T09:00:00.000Z', 'Standup'],
      ['2026-12-10T14:00:00.000Z', 'Standup'],
    ]);
    // The override keeps the key of the occurrence it replaces.
    expect(get('standup|2026-12-04T09:00:00.000Z')?.summary).toBe('Standup (late)');
    expect(get('standup|2026-12-10T14:00:00.000Z')?.end.toISOString()).toBe('2026-12-10T14:15:00.000Z');
  });

  it('reads all-day events as midnight in the input zone, IANA TZIDs, cancelled events, and skips garbage lines', () => {
    expect(get('holiday')).toMatchObject({ allDay: true, start: at('2026-12-03T23:00:00Z'), end: at('2026-12-04T23:00:00Z') });
    expect(get('ny')?.start.toISOString()).toBe('2026-12-03T14:00:00.000Z');
    expect(get('off')?.cancelled).toBe(true);
  });

  it('refuses what is not a calendar', () => {
    expect(() => parseCalendarDocument(Buffer.from('<html></html>'), 'text/html', { now, tz: 'UTC' })).toThrow(/not an iCalendar/);
  });
});

describe('calendar polls', () => {
  let t: TestContext;
  let srv: FeedServer;
  let poll: ReturnType<typeof createInputPoller>;
  let serviceId = '';
  let ownerId = '';
  beforeAll(async () => {
    t = await createTestContext();
    t.clock.set('2026-11-23T10:00:00Z');
    srv = await startFeedServer();
    const owner = await createPerson(t.ctx, { handle: 'cal-owner', name: 'Cal Owner', email: 'cal@example.com' });
    ownerId = owner.id;
    await createService(t.ctx, { handle: 'team-cal', name: 'Team calendar', owners: ['cal-owner'] });
    serviceId = (await t.ctx.db.select().from(sources).where(eq(sources.handle, 'team-cal')))[0]!.id;
    poll = createInputPoller({ ctx: t.ctx, guard });
  });
  afterAll(async () => {
    await srv?.close();
    await t?.drop();
  });

  const pollNow = async (id: string) => poll({ inputId: id, due: (await inputForPoll(t.ctx.db, id))!.dueAt });
  const posted = async () => (await t.ctx.db.select().from(statuses).where(eq(statuses.sourceId, serviceId)).orderBy(statuses.id)).map((s) => s.text);
  const ev = (uid: string, start: string, end: string, summary: string, extra: string[] = []) =>
    vevent([`UID:${uid}`, `DTSTART;TZID=W. Europe Standard Time:${start}`, `DTEND;TZID=W. Europe Standard Time:${end}`, `SUMMARY:${summary}`, ...extra]);

  it('reminds before events (waking without a fetch), announces Moved and Cancelled after the baseline, never after the start', async () => {
    // Now is 11:00 in Berlin (CET).
    const review = ev('review', '20261123T113000', '20261123T120000', 'Sprint review', ['LOCATION:Room 4', 'URL:https://cal.example.com/review']);
    const planning = ev('planning', '20261123T150000', '20261123T153000', 'Planning');
    const retro = ev('retro', '20261123T160000', '20261123T163000', 'Retro');
    const gone = ev('gone', '20261123T170000', '20261123T173000', 'Gone');
    const late = ev('late', '20261123T110500', '20261123T113000', 'Too late');
    const dead = ev('dead', '20261123T180000', '20261123T183000', 'Was cancelled', ['STATUS:CANCELLED']);
    srv.set('/team.ics', { body: ics(review, planning, retro, gone, late, dead), type: 'text/calendar; charset=utf-8', etag: '"c1"' });
    const id = (await createInput(t.ctx, admin, 'team-cal', { kind: 'calendar', url: `${srv.url}/team.ics`, every: 3600, remind: 10, tz: 'Europe/Berlin' }, guard)).id;

    // First poll: a baseline (no Moved/Cancelled), but it reminds of what is within `remind` ahead.
    await pollNow(id);
    expect(await posted()).toEqual(['In 5 min: Too late, 11:05-11:30 CET']);
    let row = (await inputForPoll(t.ctx.db, id))!;
    expect(row.dueAt.toISOString()).toBe('2026-11-23T10:20:00.000Z'); // the review's reminder, before the next fetch at 11:00Z

    // The reminder's wake-up: no fetch (the hour is not up).
    const hits = srv.hits('/team.ics');
    t.clock.set('2026-11-23T10:20:00Z');
    await pollNow(id);
    expect(srv.hits('/team.ics')).toBe(hits);
    expect((await posted()).at(-1)).toBe('In 10 min: Sprint review, 11:30-12:00 CET, Room 4 https://cal.example.com/review');
    const [reminder] = await t.ctx.db.select().from(statuses).where(eq(statuses.text, 'In 10 min: Sprint review, 11:30-12:00 CET, Room 4 https://cal.example.com/review'));
    expect(reminder!.platform).toBe('calendar');
    expect(reminder!.expiresAt?.toISOString()).toBe('2026-11-23T10:30:00.000Z');
    expect(reminder!.input).toEqual({ kind: 'calendar', id, event: { uid: 'review', start: '2026-11-23T10:30:00.000Z', end: '2026-11-23T11:00:00.000Z', summary: 'Sprint review', location: 'Room 4' } });

    // The publisher moves planning, cancels retro, drops "gone".
    srv.set('/team.ics', {
      body: ics(review, ev('planning', '20261123T160000', '20261123T163000', 'Planning'), ev('retro', '20261123T160000', '20261123T163000', 'Retro', ['STATUS:CANCELLED']), late, dead),
      type: 'text/calendar',
      etag: '"c2"',
    });
    t.clock.set('2026-11-23T10:40:00Z');
    await pollInputNow(t.ctx, admin, id);
    await pollNow(id);
    expect((await posted()).slice(2)).toEqual([
      'Moved: Planning, now Mon 23 Nov 16:00-16:30 CET (was Mon 23 Nov 15:00-15:30 CET)',
      'Cancelled: Retro, Mon 23 Nov 16:00-16:30 CET',
      'Cancelled: Gone, Mon 23 Nov 17:00-17:30 CET',
    ]);
    // A 304 changes nothing, and nothing is announced twice.
    await pollInputNow(t.ctx, admin, id);
    await pollNow(id);
    expect(await posted()).toHaveLength(5);
    row = (await inputForPoll(t.ctx.db, id))!;
    expect(row.state).toBe('active');

    // A reminder never goes after its event began: jump past the planning's start without a wake-up.
    t.clock.set('2026-11-23T15:05:00Z');
    await pollNow(id);
    expect(await posted()).toHaveLength(5);
  });

  it('a bad calendar is a clear last_error', async () => {
    srv.set('/bad.ics', { body: 'this is not a calendar', type: 'text/calendar' });
    const id = (await createInput(t.ctx, admin, 'team-cal', { kind: 'calendar', url: `${srv.url}/bad.ics` }, guard)).id;
    await pollNow(id);
    const row = (await t.ctx.db.select().from(inputs).where(eq(inputs.id, id)))[0]!;
    expect([row.state, row.lastError]).toEqual(['failing', 'the document is not an iCalendar (it does not start with BEGIN:VCALENDAR)']);
  });

  it('a reminder held by quiet hours past the start is skipped as expired; off keeps its own reason', async () => {
    const now = t.clock.now();
    const person = await createPerson(t.ctx, { handle: 'quiet-q', name: 'Q', email: 'q@example.com' });
    const s = await t.ctx.db.transaction((tx) =>
      insertStatus(tx, { id: serviceId }, { sourceId: serviceId, text: 'In 10 min: Standup, 10:00-10:15 UTC', platform: 'calendar', expiresAt: new Date(now.getTime() - 60_000) }, now),
    );
    const held = (subscriberId: string) => ({
      id: newId(),
      event: 'status.created',
      statusId: s.id,
      subscriberKind: 'person' as const,
      subscriberId,
      route: 'dm' as const,
      state: 'queued' as const,
      holdUntil: new Date(now.getTime() - 1000),
      dedupeKey: `test:${subscriberId}:${s.id}`,
    });
    await t.ctx.db.insert(deliveries).values([held(person.id), held(ownerId)]);
    await t.ctx.db.update(sources).set({ switchedOff: true }).where(eq(sources.id, ownerId));
    for (const p of [person.id, ownerId]) await releaseHeld({ ctx: t.ctx, messengers: {} }, p);
    const rows = await t.ctx.db.select().from(deliveries).where(eq(deliveries.statusId, s.id));
    const bySub = Object.fromEntries(rows.map((r) => [r.subscriberId, [r.state, r.reason]]));
    expect(bySub[person.id]).toEqual(['skipped', 'expired']);
    expect(bySub[ownerId]).toEqual(['skipped', 'switched off']);
    // Sent directly (no quiet hours) after the start, it is skipped as expired too.
    await t.ctx.db.update(sources).set({ switchedOff: false }).where(eq(sources.id, ownerId));
    const dm = createDmChannel({ ctx: t.ctx, messengers: {} });
    const record = { id: newId(), event: 'status.created', statusId: s.id, subscriberKind: 'person' as const, subscriberId: ownerId, route: 'dm' as const, followId: null, attempts: 0, payload: {}, refs: [], createdAt: now };
    expect(await dm.deliver(record)).toEqual({ kind: 'skip', reason: 'expired' });
  });
});
