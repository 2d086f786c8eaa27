import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../src/app/services.js';
import { createApiToken } from '../../src/app/tokens.js';
import { requireSource } from '../../src/app/people.js';
import { newId } from '../../src/core/ids.js';
import { deliveries, follows, statuses, webhooks } from '../../src/db/schema.js';
import { expectProblem, RecordingPipeline, startHarness, type Harness } from '../http/harness.js';

/** One person's token must never act on another person's webhooks, follows, statuses or requests. */
let h: Harness;
const pipeline = new RecordingPipeline();
let alice: { row: { id: string }; token: string };
let bob: { row: { id: string }; token: string };
let carol: { row: { id: string }; token: string };
let buildToken: string;
let hook: { id: string };
let aliceFollow: string;
let aliceStatus: string;
let payrollStatus: string;
let hookDelivery: string;
let dmDelivery: string;

beforeAll(async () => {
  h = await startHarness({ pipeline });
  alice = await h.person('alice');
  bob = await h.person('bob');
  carol = await h.person('carol');
  await createService(h.t.ctx, { handle: 'build', name: 'Build server', owners: ['alice'] });
  await createService(h.t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['alice'] });
  buildToken = await createApiToken(h.t.ctx, (await requireSource(h.t.ctx, 'build')).id);

  const w = await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1:9/alice' } });
  expect(w.status).toBe(201);
  hook = w.body;
  const f = await h.call('POST', '/api/v1/follows', { token: alice.token, body: { target: '@bob' } });
  expect(f.status).toBe(201);
  aliceFollow = f.body.id;
  aliceStatus = (await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'mine' } })).body.id;
  payrollStatus = (await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'salaries are in', as: 'payroll' } })).body.id;
  expect(payrollStatus).toEqual(expect.any(String));

  const base = { event: 'status.created', statusId: aliceStatus, state: 'sent' as const, attempts: 1 };
  hookDelivery = newId();
  dmDelivery = newId();
  await h.t.database.db.insert(deliveries).values([
    { ...base, id: hookDelivery, subscriberKind: 'webhook', subscriberId: hook.id, route: 'webhook', dedupeKey: `sec-${hookDelivery}` },
    { ...base, id: dmDelivery, subscriberKind: 'person', subscriberId: alice.row.id, route: 'dm', dedupeKey: `sec-${dmDelivery}` },
  ]);
});
afterAll(() => h?.close());

describe("a person's token cannot act on another person's things", () => {
  it("webhooks: 403 on each endpoint of Alice's endpoint, and nothing changes or is sent", async () => {
    for (const token of [bob.token, buildToken]) {
      expectProblem(await h.call('GET', `/api/v1/webhooks/${hook.id}`, { token }), 403);
      expectProblem(await h.call('PATCH', `/api/v1/webhooks/${hook.id}`, { token, body: { url: 'http://127.0.0.1:9/bob', enabled: false } }), 403);
      expectProblem(await h.call('GET', `/api/v1/webhooks/${hook.id}/deliveries`, { token }), 403);
      expectProblem(await h.call('POST', `/api/v1/webhooks/${hook.id}/test`, { token }), 403);
      expectProblem(await h.call('POST', `/api/v1/deliveries/${hookDelivery}/redeliver`, { token }), 403);
      expectProblem(await h.call('POST', `/api/v1/deliveries/${dmDelivery}/redeliver`, { token }), 403);
      expectProblem(await h.call('POST', '/api/v1/follows', { token, body: { target: '#anything', webhook: hook.id } }), 403);
      expectProblem(await h.call('DELETE', `/api/v1/webhooks/${hook.id}`, { token }), 403);
    }
    const list = await h.call('GET', '/api/v1/webhooks', { token: bob.token });
    expect(list.body.items).toEqual([]);
    const [row] = await h.t.database.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(row).toMatchObject({ url: 'http://127.0.0.1:9/alice', enabled: true });
    expect(pipeline.tests).toEqual([]);
    expect(pipeline.redelivered).toEqual([]);
    // The secret never leaks through any read.
    expect((await h.call('GET', `/api/v1/webhooks/${hook.id}`, { token: alice.token })).text).not.toContain('whsec_');
  });

  it("follows: Bob cannot delete Alice's follow, nor see it in his list", async () => {
    expectProblem(await h.call('DELETE', `/api/v1/follows/${aliceFollow}`, { token: bob.token }), 403);
    expectProblem(await h.call('DELETE', `/api/v1/follows/${aliceFollow}`, { token: buildToken }), 403);
    expect(await h.t.database.db.select().from(follows).where(eq(follows.id, aliceFollow))).toHaveLength(1);
    const list = await h.call('GET', '/api/v1/follows', { token: bob.token });
    expect(list.body.items.map((f: { id: string }) => f.id)).not.toContain(aliceFollow);
  });

  it("statuses: Bob cannot delete Alice's status, nor post as her or as a service he does not own", async () => {
    expectProblem(await h.call('DELETE', `/api/v1/statuses/${aliceStatus}`, { token: bob.token }), 403);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: 'I am the build', as: 'build' } }), 403, /not an owner of @build/);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: 'I am Alice', as: 'alice' } }), 403);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: 'payday', as: 'payroll' } }), 403);
    // A service's token is the service, not its owners.
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: buildToken, body: { text: 'as alice', as: 'alice' } }), 403);
    // Handles are matched exactly: case and an @ prefix do not open a side door.
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: 'x', as: '@BUILD' } }), 403);
    const [row] = await h.t.database.db.select().from(statuses).where(eq(statuses.id, aliceStatus));
    expect(row!.deletedAt).toBeNull();
    const posted = await h.t.database.db.select().from(statuses);
    expect(posted.map((s) => s.text).sort()).toEqual(['mine', 'salaries are in']);
  });

  it('tokens and hooks: Bob cannot mint a token or a hook URL for a service he does not own, or for Alice', async () => {
    expectProblem(await h.call('POST', '/api/v1/tokens', { token: bob.token, body: { subject: '@build' } }), 403);
    expectProblem(await h.call('POST', '/api/v1/tokens', { token: bob.token, body: { subject: '@alice' } }), 403);
    expectProblem(await h.call('POST', '/api/v1/services/build/hooks', { token: bob.token }), 403);
    // A service token mints nothing, not even for itself.
    const r = await h.call('POST', '/api/v1/tokens', { token: buildToken, body: { subject: '@build' } });
    expect([403, 422]).toContain(r.status);
    expectProblem(r, r.status);
  });
});

describe('protected sources', () => {
  it("Bob cannot read a protected source's timeline, one of its statuses, or its feed", async () => {
    expectProblem(await h.call('GET', '/api/v1/sources/payroll/statuses', { token: bob.token }), 403);
    expectProblem(await h.call('GET', `/api/v1/statuses/${payrollStatus}`, { token: bob.token }), 404);
    expectProblem(await h.call('GET', `/api/v1/statuses/${payrollStatus}`, { token: buildToken }), 404);
    const feed = await fetch(`${h.base}/feeds/payroll.atom`);
    expect(feed.status).toBe(401);
    const withToken = await fetch(`${h.base}/feeds/payroll.json?token=${encodeURIComponent(bob.token)}`);
    expect(withToken.status).toBe(403);
    expect(await withToken.text()).not.toContain('salaries');
    // The owner reads it.
    expect((await h.call('GET', '/api/v1/sources/payroll/statuses', { token: alice.token })).body.items).toHaveLength(1);
  });

  it('a pending request does not open the timeline; the requester cannot approve (or deny) it; a stranger cannot either', async () => {
    const req = await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@payroll' } });
    expect(req.status).toBe(201);
    expect(req.body.state).toBe('pending');
    expectProblem(await h.call('GET', '/api/v1/sources/payroll/statuses', { token: bob.token }), 403);
    const home = await h.call('GET', '/api/v1/timeline', { token: bob.token });
    expect(home.text).not.toContain('salaries');

    expectProblem(await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: bob.token }), 403, /own follow request/);
    expectProblem(await h.call('POST', `/api/v1/follows/${req.body.id}/deny`, { token: bob.token }), 403);
    expectProblem(await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: carol.token }), 403);
    expectProblem(await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: buildToken }), 403);
    const [row] = await h.t.database.db.select().from(follows).where(eq(follows.id, req.body.id));
    expect(row!.state).toBe('pending');
    // Requests are listed only to those who may decide them.
    expect((await h.call('GET', '/api/v1/follow-requests', { token: bob.token })).body.items).toEqual([]);
    expect((await h.call('GET', '/api/v1/follow-requests', { token: carol.token })).body.items).toEqual([]);
    expect((await h.call('GET', '/api/v1/follow-requests', { token: alice.token })).body.items.map((f: { id: string }) => f.id)).toEqual([req.body.id]);

    // Once its owner approves, Bob reads it: the refusals above were about permission, not a broken route.
    expect((await h.call('POST', `/api/v1/follows/${req.body.id}/approve`, { token: alice.token })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/sources/payroll/statuses', { token: bob.token })).body.items).toHaveLength(1);
  });
});
