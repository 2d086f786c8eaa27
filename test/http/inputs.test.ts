import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputs } from '../../src/db/schema.js';
import { runCli } from '../../src/cli.js';
import { rss, startFeedServer, type FeedServer } from '../fakes/feed-server.js';
import { reply } from '../app/commands/helpers.js';
import { expectProblem, startHarness, type Harness } from './harness.js';

let h: Harness;
let strict: Harness;
let srv: FeedServer;
let owner: { token: string };
let stranger: { token: string };

beforeAll(async () => {
  h = await startHarness();
  strict = await startHarness({ env: { ALLOW_PRIVATE_URLS: 'false', WEBHOOK_ALLOW_PRIVATE: 'false' } });
  srv = await startFeedServer();
  srv.set('/status.rss', { body: rss([{ guid: 'a', title: 'A' }]) });
  owner = await h.person('ops');
  stranger = await h.person('random');
  expect((await h.call('POST', '/api/v1/services', { body: { handle: 'it-status', name: 'IT status', owners: ['ops'] } })).status).toBe(201);
  expect((await strict.call('POST', '/api/v1/services', { body: { handle: 'it-status', name: 'IT status' } })).status).toBe(201);
});
afterAll(async () => {
  await srv?.close();
  await h?.close();
  await strict?.close();
});

describe('inputs API', () => {
  it('creates, lists, reads, changes, polls now and deletes an input', async () => {
    const created = await h.call('POST', '/api/v1/services/it-status/inputs', { token: owner.token, body: { kind: 'feed', url: `${srv.url}/status.rss` } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ service: 'it-status', kind: 'feed', url: `${srv.url}/status.rss`, every: 300, state: 'active', last_polled_at: null });
    expect(created.body).not.toHaveProperty('remind');
    const id = created.body.id as string;
    expect(created.headers.get('location')).toMatch(new RegExp(`/api/v1/inputs/${id}$`));

    const cal = await h.call('POST', '/api/v1/services/it-status/inputs', { body: { kind: 'calendar', url: `${srv.url}/cal.ics`, every: 600, tz: 'Europe/Berlin' } });
    expect(cal.body).toMatchObject({ kind: 'calendar', every: 600, remind: 10, tz: 'Europe/Berlin' });

    const list = await h.call('GET', '/api/v1/services/it-status/inputs', { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { id: string }) => i.id).sort()).toEqual([id, cal.body.id as string].sort());
    expect((await h.call('GET', `/api/v1/inputs/${id}`, { token: owner.token })).body).toMatchObject({ id, next_poll_at: expect.any(String) as unknown });

    const off = await h.call('PATCH', `/api/v1/inputs/${id}`, { token: owner.token, body: { enabled: false, every: 120 } });
    expect(off.body).toMatchObject({ state: 'disabled', every: 120, next_poll_at: null });
    expectProblem(await h.call('POST', `/api/v1/inputs/${id}/poll`, { token: owner.token }), 409, /disabled/);
    expect((await h.call('PATCH', `/api/v1/inputs/${id}`, { token: owner.token, body: { enabled: true } })).body.state).toBe('active');
    expect((await h.call('POST', `/api/v1/inputs/${id}/poll`, { token: owner.token })).status).toBe(202);

    expect((await h.call('DELETE', `/api/v1/inputs/${id}`, { token: owner.token })).status).toBe(204);
    expectProblem(await h.call('GET', `/api/v1/inputs/${id}`, { token: owner.token }), 404);
  });

  it('answers mistakes with clear 4xx problems', async () => {
    const post = (body: unknown, token?: string) => h.call('POST', '/api/v1/services/it-status/inputs', { token: token ?? owner.token, body });
    expectProblem(await post({ kind: 'podcast', url: `${srv.url}/x` }), 400);
    expectProblem(await post({ kind: 'feed', url: `${srv.url}/x`, every: 30 }), 400, /every/);
    expectProblem(await post({ kind: 'calendar', url: `${srv.url}/x`, tz: 'Mars/Olympus' }), 400, /tz/);
    expectProblem(await post({ kind: 'feed', url: 'ftp://127.0.0.1/feed' }), 400, /http or https/);
    expectProblem(await post({ kind: 'feed', url: 'not a url' }), 400, /not a URL/);
    expectProblem(await post({ kind: 'feed', url: `${srv.url}/x`, tz: 'UTC' }), 400, /calendars only/);
    expectProblem(await post({ kind: 'feed', url: `${srv.url}/x` }, stranger.token), 403);
    expectProblem(await h.call('POST', '/api/v1/services/nobody/inputs', { body: { kind: 'feed', url: `${srv.url}/x` } }), 404);
    expectProblem(await h.call('POST', '/api/v1/services/ops/inputs', { body: { kind: 'feed', url: `${srv.url}/x` } }), 400, /inputs belong to services/);
    // A stranger does not even learn that an input exists.
    const id = (await post({ kind: 'feed', url: `${srv.url}/y` })).body.id as string;
    expectProblem(await h.call('GET', `/api/v1/inputs/${id}`, { token: stranger.token }), 404);
    // With ALLOW_PRIVATE_URLS off, loopback is refused when saved.
    expectProblem(await strict.call('POST', '/api/v1/services/it-status/inputs', { body: { kind: 'feed', url: `${srv.url}/status.rss` } }), 400, /refused.*127\.0\.0\.1.*ALLOW_PRIVATE_URLS/);
  });
});

describe('chat and CLI', () => {
  it('inputs @service lists the inputs for owners and refuses others', async () => {
    const text = await reply(h.t, 'ops', 'inputs @it-status');
    expect(text).toMatch(/^Inputs of @it-status:/);
    expect(text).toMatch(/calendar http:\/\/127\.0\.0\.1:\d+\/cal\.ics: active, every 10 min, remind 10 min before \(Europe\/Berlin\); last poll never/);
    expect(await reply(h.t, 'random', 'inputs @it-status')).toMatch(/Only @it-status's owners and admins manage its inputs/);
    expect(await reply(h.t, 'ops', 'inputs')).toMatch(/inputs @service/);
  });

  it('npx twitterprise input add @service feed <url>', async () => {
    const env = { DATABASE_URL: h.t.database.url, ALLOW_PRIVATE_URLS: 'true', LOG_LEVEL: 'silent' };
    const writes: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      expect(await runCli(['input', 'add', '@it-status', 'feed', `${srv.url}/cli.rss`, '--every', '900'], env)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(writes.join('')).toMatch(/^Added feed input \S+ to @it-status: http:\/\/127\.0\.0\.1:\d+\/cli\.rss, polled every 900 s\./);
    const rows = await h.t.ctx.db.select().from(inputs).where(eq(inputs.url, `${srv.url}/cli.rss`));
    expect(rows.map((r) => [r.kind, r.everyS])).toEqual([['feed', 900]]);
    await expect(runCli(['input', 'add', '@it-status', 'podcast', `${srv.url}/x`], env)).rejects.toThrow(/not feed or calendar/);
  });
});
