import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml2js } from 'xml-js';
import { decideFollowRequest, follow, resolveTarget } from '../../src/app/follows.js';
import { requireSource } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { postStatus } from '../../src/app/statuses.js';
import { createApiToken, createHookUrl, revokeToken } from '../../src/app/tokens.js';
import { statuses, tokens } from '../../src/db/schema.js';
import { ADMIN, startHarness, type Harness } from './harness.js';

type XmlNode = { _text?: string; _attributes?: Record<string, string> } & { [k: string]: XmlNode | XmlNode[] | string | undefined };
const parseXml = (s: string) => xml2js(s, { compact: true }) as unknown as XmlNode;
const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

let h: Harness;
let alice: { row: { id: string }; token: string };
let bob: { row: { id: string }; token: string };
let carol: { row: { id: string }; token: string };
let hookUrl: string;

beforeAll(async () => {
  h = await startHarness();
  alice = await h.person('alice');
  bob = await h.person('bob');
  carol = await h.person('carol');
  await createService(h.t.ctx, { handle: 'build', name: 'Build server', owners: ['alice'] });
  await createService(h.t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['alice'] });
  const build = await requireSource(h.t.ctx, 'build');
  const payroll = await requireSource(h.t.ctx, 'payroll');
  hookUrl = await createHookUrl(h.t.ctx, build);
  for (const text of ['build 1 <green> & done', 'build 2 red #ci', 'build 3 gone']) {
    h.t.clock.advance(1000);
    await postStatus(h.t.ctx, { sourceId: build.id, text, platform: 'api' });
  }
  const gone = await h.t.database.db.select().from(statuses).where(eq(statuses.text, 'build 3 gone'));
  await h.t.database.db.update(statuses).set({ deletedAt: h.t.clock.now() }).where(eq(statuses.id, gone[0]!.id));
  await postStatus(h.t.ctx, { sourceId: payroll.id, text: 'salaries paid', platform: 'api' });
  // bob is an approved follower of @payroll; carol is not.
  const f = await follow(h.t.ctx, { subscriber: { kind: 'person', id: bob.row.id }, actor: { id: bob.row.id, isAdmin: false }, target: await resolveTarget(h.t.ctx, '@payroll'), route: 'dm', via: 'api' });
  await decideFollowRequest(h.t.ctx, { actor: { id: alice.row.id, isAdmin: false }, followId: f.follow.id, decision: 'approve', via: 'api' });
});
afterAll(() => h?.close());

const get = (path: string) => fetch(h.base + path, { signal: AbortSignal.timeout(15_000) });

describe('feeds', () => {
  it('Atom: well-formed, newest first, text escaped, deleted statuses left out', async () => {
    const res = await get('/feeds/build.atom');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/atom\+xml/);
    const xml = await res.text();
    const feed = parseXml(xml).feed as XmlNode;
    expect((feed.title as XmlNode)._text).toBe('Build server (@build)');
    const links = asArray(feed.link as XmlNode | XmlNode[]).map((l) => l._attributes ?? {});
    expect(links).toContainEqual(expect.objectContaining({ rel: 'alternate', href: `${h.t.config.publicUrl}/@build` }));
    const entries = asArray(feed.entry as XmlNode | XmlNode[]);
    const titles = entries.map((e) => (e.title as XmlNode)._text ?? (e.title as XmlNode & { _cdata?: string })._cdata);
    // Atom titles and content are HTML: the plain status text is escaped, never markup.
    expect(titles).toEqual(['build 2 red #ci', 'build 1 &lt;green&gt; &amp; done']);
    expect(xml).not.toContain('build 3 gone');
    expect(xml).not.toContain('<green>');
  });

  it('RSS 2.0: well-formed with the status text', async () => {
    const res = await get('/feeds/build.rss');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/rss\+xml/);
    const doc = parseXml(await res.text());
    const rss = doc.rss as XmlNode;
    expect(rss._attributes?.version).toBe('2.0');
    const items = asArray((rss.channel as XmlNode).item as XmlNode | XmlNode[]);
    expect(items).toHaveLength(2);
    // The feed's home is the source's page a reader can open, not the token-only API.
    expect(((rss.channel as XmlNode).link as XmlNode)._text).toBe(`${h.t.config.publicUrl}/@build`);
    const first = items[0]!;
    const title = (first.title as XmlNode & { _cdata?: string });
    expect(title._cdata ?? title._text).toBe('build 2 red #ci');
  });

  it('JSON Feed 1.1', async () => {
    const res = await get('/feeds/@build.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/feed\+json/);
    const feed = (await res.json()) as { version: string; title: string; home_page_url: string; items: { id: string; title: string; content_text?: string; content_html?: string; url: string }[] };
    expect(feed.version).toMatch(/^https:\/\/jsonfeed\.org\/version\/1/);
    expect(feed.title).toBe('Build server (@build)');
    expect(feed.home_page_url).toBe(`${h.t.config.publicUrl}/@build`);
    // Plain text stays plain text in JSON Feed.
    expect(feed.items.map((i) => i.content_text)).toEqual(['build 2 red #ci', 'build 1 <green> & done']);
    expect(feed.items.map((i) => i.title)).toEqual(['build 2 red #ci', 'build 1 <green> & done']);
    expect(feed.items.every((i) => i.content_html === undefined)).toBe(true);
    expect(feed.items[0]!.url).toMatch(new RegExp(`^${h.t.config.publicUrl}/statuses/`));
  });

  it('a protected feed: 401 without a token, 403 with a token not allowed, 200 for an approved follower, an owner or the admin', async () => {
    const none = await get('/feeds/payroll.atom');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await none.json()) as { detail: string }).detail).toMatch(/protected: add \?token=/);
    const bad = await get('/feeds/payroll.atom?token=tp_wrong');
    expect(bad.status).toBe(401);
    const carolRes = await get(`/feeds/payroll.rss?token=${encodeURIComponent(carol.token)}`);
    expect(carolRes.status).toBe(403);
    expect(((await carolRes.json()) as { detail: string }).detail).toMatch(/not an approved follower/);
    for (const token of [bob.token, alice.token, ADMIN]) {
      const ok = await get(`/feeds/payroll.json?token=${encodeURIComponent(token)}`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('cache-control')).toBe('private, no-store');
      expect(((await ok.json()) as { items: { content_text: string }[] }).items.map((i) => i.content_text)).toEqual(['salaries paid']);
    }
  });

  it('404 for an unknown handle or format', async () => {
    const r = await get('/feeds/nobody.atom');
    expect(r.status).toBe(404);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/@nobody is not a known handle/);
    expect((await get('/feeds/build.xml')).status).toBe(404);
  });
});

describe('POST /hooks/:token', () => {
  const post = (url: string, body: string, headers: Record<string, string>) =>
    fetch(url.replace(h.t.config.publicUrl, h.base), { method: 'POST', body, headers, signal: AbortSignal.timeout(15_000) });

  it('text/plain and JSON {text} post as the service with platform hook', async () => {
    const a = await post(hookUrl, 'deploy finished #deploy', { 'content-type': 'text/plain; charset=utf-8' });
    expect(a.status).toBe(201);
    const sa = (await a.json()) as { platform: string; text: string; source: { handle: string }; entities: { tags: string[] } };
    expect(sa).toMatchObject({ platform: 'hook', text: 'deploy finished #deploy', source: { handle: 'build' }, entities: { tags: ['deploy'] } });
    const b = await post(hookUrl, JSON.stringify({ text: 'from json' }), { 'content-type': 'application/json' });
    expect(b.status).toBe(201);
    expect(((await b.json()) as { text: string }).text).toBe('from json');
  });

  it("a form body (curl -d's default) posts its text field, else the whole body decoded", async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const texts: string[] = [];
    for (const body of ['deploy+done+%23deploy', 'deploy done', 'text=from+the+field&channel=ops', 'deploy 100% done', 'caf%C3%A9 open']) {
      const r = await post(hookUrl, body, form);
      expect(r.status, body).toBe(201);
      const s = (await r.json()) as { text: string; platform: string };
      expect(s.platform).toBe('hook');
      texts.push(s.text);
    }
    expect(texts).toEqual(['deploy done #deploy', 'deploy done', 'from the field', 'deploy 100% done', 'café open']);
    // An empty text field is the same rule as any empty status.
    expect((await post(hookUrl, 'text=', form)).status).toBe(422);
  });

  it('an Idempotency-Key makes a retried hook call create one status', async () => {
    const send = () => post(hookUrl, 'only once', { 'content-type': 'text/plain', 'idempotency-key': 'evt-1' });
    const a = (await (await send()).json()) as { id: string };
    const second = await send();
    expect(second.status).toBe(201);
    expect(((await second.json()) as { id: string }).id).toBe(a.id);
    expect(await h.t.database.db.select().from(statuses).where(eq(statuses.text, 'only once'))).toHaveLength(1);
  });

  it('refuses an unknown or revoked hook (401), bad bodies (400, 415, 422) and big ones (413)', async () => {
    const unknown = await post(`${h.base}/hooks/th_nope`, 'x', { 'content-type': 'text/plain' });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const badJson = await post(hookUrl, '{"text":', { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { detail: string }).detail).toBe('The body is not valid JSON.');
    expect((await post(hookUrl, JSON.stringify({ message: 'x' }), { 'content-type': 'application/json' })).status).toBe(400);
    const xml = await post(hookUrl, '<text>x</text>', { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    expect(((await xml.json()) as { detail: string }).detail).toMatch(/text\/plain, as a form/);
    const empty = await post(hookUrl, '', { 'content-type': 'text/plain' });
    expect(empty.status).toBe(422);
    expect((await post(hookUrl, 'y'.repeat(1001), { 'content-type': 'text/plain' })).status).toBe(422);
    expect((await post(hookUrl, 'z'.repeat(65 * 1024), { 'content-type': 'text/plain' })).status).toBe(413);

    const secret = hookUrl.split('/hooks/')[1]!;
    const [row] = await h.t.database.db.select().from(tokens).where(eq(tokens.kind, 'hook'));
    await revokeToken(h.t.ctx, row!.id);
    expect((await post(`${h.base}/hooks/${secret}`, 'after revoke', { 'content-type': 'text/plain' })).status).toBe(401);
  });

  it('an API token is not a hook token', async () => {
    const api = await createApiToken(h.t.ctx, (await requireSource(h.t.ctx, 'build')).id);
    expect((await post(`${h.base}/hooks/${api}`, 'x', { 'content-type': 'text/plain' })).status).toBe(401);
  });
});
