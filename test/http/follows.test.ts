import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSource } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { createApiToken } from '../../src/app/tokens.js';
import { consentLog, follows, outbox } from '../../src/db/schema.js';
import { expectProblem, startHarness, type Harness } from './harness.js';

let h: Harness;
let alice: { row: { id: string }; token: string };
let bob: { row: { id: string }; token: string };
let carol: { row: { id: string }; token: string };

beforeAll(async () => {
  h = await startHarness();
  alice = await h.person('alice');
  bob = await h.person('bob');
  carol = await h.person('carol');
  await createService(h.t.ctx, { handle: 'build', name: 'Build server', owners: ['alice'] });
  await createService(h.t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['alice'] });
});
afterAll(() => h?.close());

describe('POST/GET/DELETE /api/v1/follows', () => {
  it('follows a source, a tag and a word for the token owner, records consent, and lists them', async () => {
    const src = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: 'both', filters: ['+#deploy', '-Flaky'] } });
    expect(src.status).toBe(201);
    expect(src.body).toMatchObject({ id: expect.any(String), target: '@build', state: 'active', route: 'dm+email', routes: ['dm', 'email'], filters: ['+#deploy', '-flaky'], webhook: null });
    // Ids are time-ordered; the hand-moved clock keeps the list order certain.
    h.t.clock.advance(1000);
    const tag = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '#Incident' } });
    expect(tag.body).toMatchObject({ target: '#incident', route: 'dm', state: 'active' });
    h.t.clock.advance(1000);
    const word = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: 'outage', route: 'email' } });
    expect(word.body).toMatchObject({ target: 'outage', route: 'email' });

    // Several routes: a list or a '+'-joined string, stored in one canonical order.
    const listed = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: ['sms', 'dm'] } });
    expect(listed.body).toMatchObject({ id: src.body.id, route: 'dm+sms', routes: ['dm', 'sms'] });
    const joined = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: 'sms+email+dm' } });
    expect(joined.body).toMatchObject({ id: src.body.id, route: 'dm+email+sms', routes: ['dm', 'email', 'sms'] });
    const again = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: 'email' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: src.body.id, route: 'email', routes: ['email'], filters: [] });

    const list = await h.call('GET', '/api/v1/follows', { token: bob.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((f: { target: string }) => f.target)).toEqual(['@build', '#incident', 'outage']);
    expect(list.body.next).toBeNull();
    const page = await h.call('GET', '/api/v1/follows?limit=2', { token: bob.token });
    expect(page.body.items).toHaveLength(2);
    const rest = await h.call('GET', `/api/v1/follows?limit=2&before=${page.body.next}`, { token: bob.token });
    expect(rest.body.items.map((f: { target: string }) => f.target)).toEqual(['outage']);

    const consent = await h.t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, bob.row.id));
    // The word is recorded as a track; following @build again (another route) is recorded too.
    expect(consent.map((c) => `${c.action} ${c.object} via ${c.via}`).sort()).toEqual(['follow #incident via api', 'follow @build via api', 'follow @build via api', 'follow @build via api', 'follow @build via api', 'track "outage" via api']);

    const del = await h.call('DELETE', `/api/v1/follows/${word.body.id}`, { token: bob.token });
    expect(del.status).toBe(204);
    expect(await h.t.database.db.select().from(follows).where(eq(follows.id, word.body.id))).toHaveLength(0);
    expectProblem(await h.call('DELETE', `/api/v1/follows/${word.body.id}`, { token: bob.token }), 404);
  });

  it('refuses bad input: 404 unknown handle, 400 bad filter, route and field, 422 self-follow and service tokens', async () => {
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@nobody' } }), 404, /@nobody is not a known handle/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', filters: ['deploy'] } }), 400, /not a filter/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: 'pigeon' } }), 400, /Field "route"/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: ['dm', 'pigeon'] } }), 400, /Field "route": "pigeon" is not a route/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: 'dm+' } }), 400, /Field "route"/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: [] } }), 400, /Field "route"/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: 7 } }), 400, /Field "route"/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build', route: 'webhook' } }), 400, /needs "webhook"/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: {} }), 400, /Field "target"/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@bob' } }), 422, /cannot follow yourself/);
    const buildToken = await createApiToken(h.t.ctx, (await requireSource(h.t.ctx, 'build')).id);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: buildToken, body: { target: '#deploy' } }), 422, /service token/);
  });

  it("403 when deleting someone else's follow", async () => {
    const f = await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: '@bob' } });
    expectProblem(await h.call('DELETE', `/api/v1/follows/${f.body.id}`, { token: bob.token }), 403, /not yours/);
  });
});

describe('webhook endpoints as followers', () => {
  it("the endpoint follows with route webhook; only the endpoint's owner may", async () => {
    const w = await h.call('POST', '/api/v1/webhooks', { token: carol.token, body: { url: 'http://127.0.0.1:9/hook' } });
    expect(w.status).toBe(201);
    h.t.clock.advance(1000);
    const f = await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: '#deploy', webhook: w.body.id } });
    expect(f.status).toBe(201);
    expect(f.body).toMatchObject({ target: '#deploy', route: 'webhook', webhook: w.body.id, subscriber: { kind: 'webhook', id: w.body.id } });
    expectProblem(await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '#deploy', webhook: w.body.id } }), 403, /owner of this webhook/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: '#deploy', webhook: 'nope' } }), 404, /No webhook/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: '#deploy', webhook: w.body.id, route: 'dm' } }), 400, /route/);
    const list = await h.call('GET', '/api/v1/follows', { token: carol.token });
    expect(list.body.items.map((x: { target: string; webhook: string | null }) => [x.target, x.webhook])).toEqual([
      ['@bob', null],
      ['#deploy', w.body.id],
    ]);
    expectProblem(await h.call('DELETE', `/api/v1/follows/${f.body.id}`, { token: bob.token }), 403);
    expect((await h.call('DELETE', `/api/v1/follows/${f.body.id}`, { token: carol.token })).status).toBe(204);
  });
});

describe('follow requests', () => {
  it('a follow of a protected source is pending; its owner lists and approves it; the requester cannot', async () => {
    const req = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@payroll' } });
    expect(req.status).toBe(201);
    expect(req.body.state).toBe('pending');
    const requested = await h.t.database.db.select().from(outbox).where(eq(outbox.event, 'follow.requested'));
    expect(requested.map((o) => o.payload.followId)).toContain(req.body.id);

    const mine = await h.call('GET', '/api/v1/follow-requests', { token: alice.token });
    expect(mine.status).toBe(200);
    expect(mine.body.items).toEqual([expect.objectContaining({ id: req.body.id, target: '@payroll', state: 'pending', subscriber: expect.objectContaining({ handle: '@bob' }) })]);
    expect((await h.call('GET', '/api/v1/follow-requests', { token: carol.token })).body.items).toEqual([]);

    expectProblem(await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: bob.token }), 403, /your own follow request/);
    expectProblem(await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: carol.token }), 403, /owners/);
    expectProblem(await h.call('POST', '/api/v1/follows/nope/approve', { token: alice.token }), 404);

    const ok = await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: alice.token });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: req.body.id, state: 'active', requester: '@bob', changed: true });
    const again = await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: alice.token });
    expect(again.body).toMatchObject({ state: 'active', changed: false });
    expectProblem(await h.call('POST', `/api/v1/follows/${req.body.id}/deny`, { token: alice.token }), 409, /already approved/);
    // Approved: bob now reads the protected timeline.
    expect((await h.call('GET', '/api/v1/sources/payroll/statuses', { token: bob.token })).status).toBe(200);
  });

  it('deny removes the request', async () => {
    const req = await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: '@payroll' } });
    const no = await h.call('POST', `/api/v1/follows/${req.body.id}/deny`, { token: alice.token });
    expect(no.status).toBe(200);
    expect(no.body).toMatchObject({ id: req.body.id, state: 'denied', requester: '@carol', changed: true });
    expect(await h.t.database.db.select().from(follows).where(eq(follows.id, req.body.id))).toHaveLength(0);
    expectProblem(await h.call('GET', '/api/v1/sources/payroll/statuses', { token: carol.token }), 403);
  });
});
