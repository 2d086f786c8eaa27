import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createInput, inputForPoll, urlGuardOf, type UrlGuard } from '../../../src/app/inputs.js';
import { createPerson } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { toStatusView } from '../../../src/app/status-view.js';
import { inputs, outbox, sources, statuses } from '../../../src/db/schema.js';
import { createInputPoller } from '../../../src/integrations/inputs/poller.js';
import type { AddressPolicy } from '../../../src/net/address-guard.js';
import { rss, startFeedServer, type FeedServer } from '../../fakes/feed-server.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';

// 127.0.0.1 is "public" for this test's guard, 127.0.0.2 (also loopback) is "private": a refusal is
// shown end to end without any traffic leaving loopback.
const onlyDotOne: AddressPolicy = (ip) => ip === '127.0.0.1';
const guard: UrlGuard = { policy: onlyDotOne };
const admin = { id: null, isAdmin: true };

let t: TestContext;
let srv: FeedServer;
let forbidden: FeedServer;
let poll: ReturnType<typeof createInputPoller>;
let serviceId = '';
let n = 0;

beforeAll(async () => {
  t = await createTestContext();
  srv = await startFeedServer('127.0.0.1');
  forbidden = await startFeedServer('127.0.0.2');
  forbidden.set('/secret', { body: rss([{ guid: 's', title: 'secret' }]) });
  await createPerson(t.ctx, { handle: 'olga', name: 'Olga', email: 'olga@example.com' });
  const svc = await createService(t.ctx, { handle: 'status', name: 'Status page', owners: ['olga'] });
  serviceId = (await t.ctx.db.select().from(sources).where(eq(sources.handle, svc.handle)))[0]!.id;
  poll = createInputPoller({ ctx: t.ctx, guard, maxBytes: 64 * 1024 });
});
afterAll(async () => {
  await srv?.close();
  await forbidden?.close();
  await t?.drop();
});
beforeEach(() => {
  n++;
});

/** A new input on its own path; returns its id. */
async function feedInput(path: string, kind: 'feed' | 'calendar' = 'feed'): Promise<string> {
  return (await createInput(t.ctx, admin, 'status', { kind, url: `${srv.url}${path}` }, guard)).id;
}
/** One poll at the input's current due time, as the sweeper's job would run it. */
async function pollNow(id: string) {
  const row = (await inputForPoll(t.ctx.db, id))!;
  return poll({ inputId: id, due: row.dueAt });
}
const row = async (id: string) => (await inputForPoll(t.ctx.db, id))!;
const texts = async (id: string) =>
  (await t.ctx.db.select().from(statuses).where(eq(statuses.sourceId, serviceId)).orderBy(statuses.id))
    .filter((s) => (s.input as { id?: string } | null)?.id === id)
    .map((s) => s.text);

const item = (i: number, extra: { date?: string } = {}) => ({ guid: `g${i}`, title: `Item ${i}`, link: `https://status.example.com/i/${i}`, ...extra });

describe('feed polls', () => {
  it('baselines on the first poll, then posts new items oldest first as title + link, with data.input', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { body: rss([item(2), item(1)]) });
    const id = await feedInput(p);
    expect(await pollNow(id)).toBe('applied');
    expect(await texts(id)).toEqual([]);
    expect((await row(id)).baselined).toBe(true);
    srv.set(p, { body: rss([item(4), item(3), item(2), item(1)]) });
    await pollNow(id);
    expect(await texts(id)).toEqual(['Item 3 https://status.example.com/i/3', 'Item 4 https://status.example.com/i/4']);
    const [s] = await t.ctx.db.select().from(statuses).where(eq(statuses.dedupeKey, `in:${id}:${(await t.ctx.db.select().from(statuses).where(eq(statuses.text, 'Item 3 https://status.example.com/i/3')))[0]!.dedupeKey!.split(':')[2]}`));
    const view = toStatusView('http://x', s!, { handle: 'status', kind: 'service', name: 'Status page' });
    expect(view.platform).toBe('feed');
    expect(view.input).toEqual({ kind: 'feed', id, item: { id: 'g3', link: 'https://status.example.com/i/3', title: 'Item 3' } });
    // Nothing new: nothing posted.
    await pollNow(id);
    expect(await texts(id)).toHaveLength(2);
  });

  it('posts the 5 oldest new items and one "and N more" status with the home link', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { body: rss([item(0)], { home: 'https://status.example.com/home' }) });
    const id = await feedInput(p);
    await pollNow(id);
    const many = [8, 7, 6, 5, 4, 3, 2, 1].map((i) => item(i, { date: new Date(Date.UTC(2026, 10, i)).toUTCString() }));
    srv.set(p, { body: rss([...many, item(0)], { home: 'https://status.example.com/home' }) });
    await pollNow(id);
    const got = await texts(id);
    expect(got.slice(0, 5).map((x) => x.split(' ').slice(0, 2).join(' '))).toEqual(['Item 1', 'Item 2', 'Item 3', 'Item 4', 'Item 5']);
    expect(got[5]).toBe('and 3 more new items: https://status.example.com/home');
    expect(got).toHaveLength(6);
    await pollNow(id);
    expect(await texts(id)).toHaveLength(6);
  });

  it('keeps identity by guid, then link, then content: a changed date is not a new item', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { body: rss([{ guid: 'a', title: 'Guid item', date: 'Mon, 23 Nov 2026 10:00:00 GMT' }, { title: 'Link item', link: 'https://x.example/l' }, { title: 'Bare item' }]) });
    const id = await feedInput(p);
    await pollNow(id);
    srv.set(p, { body: rss([{ guid: 'a', title: 'Guid item', date: 'Tue, 24 Nov 2026 10:00:00 GMT' }, { title: 'Link item', link: 'https://x.example/l' }, { title: 'Bare item' }]) });
    await pollNow(id);
    expect(await texts(id)).toEqual([]);
  });

  it('cuts a long title so the status fits 1,000 characters and keeps the link whole', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { body: rss([item(1)]) });
    const id = await feedInput(p);
    await pollNow(id);
    srv.set(p, { body: rss([{ guid: 'long', title: 'word '.repeat(400), link: 'https://status.example.com/long' }, item(1)]) });
    await pollNow(id);
    const [text] = await texts(id);
    expect([...text!].length).toBeLessThanOrEqual(1000);
    expect(text!.endsWith('… https://status.example.com/long')).toBe(true);
  });

  it('sends its validators and takes a 304 as nothing new; reads another charset; gunzips', async () => {
    const p = `/f${n}.rss`;
    const latin = (items: Parameters<typeof rss>[0]) => Buffer.from(rss(items, { encoding: 'ISO-8859-1' }), 'latin1');
    srv.set(p, { body: latin([item(1)]), etag: '"v1"', gzip: true, type: 'application/rss+xml' });
    const id = await feedInput(p);
    await pollNow(id);
    srv.set(p, { body: latin([{ guid: 'c', title: 'Café crème à 3 €'.replace('€', 'EUR'), link: 'https://status.example.com/c' }, item(1)]), etag: '"v2"', gzip: true });
    await pollNow(id);
    expect(await texts(id)).toEqual(['Café crème à 3 EUR https://status.example.com/c']);
    const before = srv.requests.length;
    await pollNow(id);
    const last = srv.requests.at(-1)!;
    expect(srv.requests.length).toBe(before + 1);
    expect(last.headers['if-none-match']).toBe('"v2"');
    expect(await texts(id)).toHaveLength(1);
    expect((await row(id)).state).toBe('active');
  });

  it('follows a permanent redirect and stores the new URL', async () => {
    const p = `/f${n}.rss`;
    srv.set(`${p}-old`, { redirect: `${srv.url}${p}`, status: 301 });
    srv.set(p, { body: rss([item(1)]) });
    const id = await feedInput(`${p}-old`);
    await pollNow(id);
    expect((await row(id)).url).toBe(`${srv.url}${p}`);
    srv.set(`${p}-moved`, { redirect: `${srv.url}${p}`, status: 302 });
    await t.ctx.db.update(inputs).set({ url: `${srv.url}${p}-moved` }).where(eq(inputs.id, id));
    await pollNow(id);
    expect((await row(id)).url).toBe(`${srv.url}${p}-moved`);
  });

  it('honours Retry-After on 429, backs off doubling to 6 h on failures, and recovers', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { status: 429, headers: { 'retry-after': '900' } });
    const id = await feedInput(p);
    await pollNow(id);
    let r = await row(id);
    expect(r.state).toBe('failing');
    expect(r.lastError).toMatch(/429 Too Many Requests/);
    expect(r.nextFetchAt.getTime() - t.clock.now().getTime()).toBe(900_000);
    srv.set(p, { status: 500 });
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      t.clock.advance(1000);
      await pollNow(id);
      r = await row(id);
      delays.push((r.nextFetchAt.getTime() - t.clock.now().getTime()) / 1000);
    }
    expect(delays).toEqual([1200, 2400, 4800, 9600, 19200, 21600, 21600, 21600]);
    expect(r.lastError).toBe(`500 Internal Server Error from ${srv.url}${p}`);
    srv.set(p, { body: rss([item(1)]) });
    t.clock.advance(1000);
    await pollNow(id);
    r = await row(id);
    expect([r.state, r.lastError, r.failures]).toEqual(['active', null, 0]);
  });

  it('disables on 410 and tells the owners by DM (the notice path)', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { status: 410 });
    const id = await feedInput(p);
    await pollNow(id);
    const r = await row(id);
    expect(r.state).toBe('disabled');
    const notices = (await t.ctx.db.select().from(outbox).where(eq(outbox.event, 'notice'))).filter((o) => JSON.stringify(o.payload).includes(id));
    expect(notices).toHaveLength(1);
    expect(JSON.stringify(notices[0]!.payload)).toMatch(/is disabled: it answered 410 Gone/);
    expect(await pollNow(id)).toBe('missing');
  });

  it('disables after 3 days of failures', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { status: 503 });
    const id = await feedInput(p);
    await pollNow(id);
    await t.ctx.db.update(inputs).set({ failingSince: new Date(t.clock.now().getTime() - 3 * 24 * 3600 * 1000) }).where(eq(inputs.id, id));
    await pollNow(id);
    expect((await row(id)).state).toBe('disabled');
  });

  it('bad documents end as a clear last_error, never a crash or a half-posted batch', async () => {
    const cases: [string | Buffer, RegExp][] = [
      ['<html><body>Hello</body></html>', /not an RSS, Atom or JSON feed/],
      ['<rss version="2.0"><channel><item><title>broken', /could not be parsed|not an RSS/],
      ['just text', /not an RSS, Atom or JSON feed/],
      ['{"not": "a feed"', /not valid JSON/],
      [Buffer.alloc(70 * 1024, 'a'), /larger than/],
    ];
    for (const [body, error] of cases) {
      const p = `/bad${n}-${cases.findIndex((c) => c[0] === body)}`;
      srv.set(p, { body });
      const id = await feedInput(p);
      await pollNow(id);
      const r = await row(id);
      expect(r.state).toBe('failing');
      expect(r.lastError).toMatch(error);
      expect(await texts(id)).toEqual([]);
    }
  });

  it('checks every redirect hop with the guard: a hop to 127.0.0.2 is refused and never reached', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { redirect: `${forbidden.url}/secret`, status: 302 });
    const id = await feedInput(p);
    await pollNow(id);
    const r = await row(id);
    expect(r.state).toBe('failing');
    expect(r.lastError).toMatch(/refused: redirect to http:\/\/127\.0\.0\.2:\d+\/secret refused.*127\.0\.0\.2/);
    expect(forbidden.requests).toHaveLength(0);
  });

  it('a second job for the same due time does nothing', async () => {
    const p = `/f${n}.rss`;
    srv.set(p, { body: rss([item(1)]) });
    const id = await feedInput(p);
    await pollNow(id);
    srv.set(p, { body: rss([item(2), item(1)]) });
    const due = (await row(id)).dueAt;
    const [a, b] = await Promise.all([poll({ inputId: id, due }), poll({ inputId: id, due })]);
    expect([a, b].sort()).toEqual(['applied', 'stale']);
    expect(await texts(id)).toHaveLength(1);
  });
});

describe('saving an input', () => {
  it('refuses private addresses, other schemes and non-URLs with a clear 4xx error', async () => {
    await expect(createInput(t.ctx, admin, 'status', { kind: 'feed', url: `${forbidden.url}/secret` }, guard)).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/refused.*127\.0\.0\.2/) as unknown });
    await expect(createInput(t.ctx, admin, 'status', { kind: 'feed', url: 'ftp://127.0.0.1/x' }, guard)).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/http or https/) as unknown });
    await expect(createInput(t.ctx, admin, 'status', { kind: 'feed', url: 'not a url' }, guard)).rejects.toMatchObject({ code: 'invalid' });
    // The configuration's guard: ALLOW_PRIVATE_URLS is off by default, so loopback is refused.
    await expect(createInput(t.ctx, admin, 'status', { kind: 'feed', url: `${srv.url}/x` }, urlGuardOf(t.config))).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/ALLOW_PRIVATE_URLS/) as unknown });
    await expect(createInput(t.ctx, admin, 'olga', { kind: 'feed', url: `${srv.url}/x` }, guard)).rejects.toMatchObject({ message: expect.stringMatching(/inputs belong to services/) as unknown });
  });
});
