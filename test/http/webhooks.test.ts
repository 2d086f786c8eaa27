import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSource } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { createApiToken } from '../../src/app/tokens.js';
import { newId } from '../../src/core/ids.js';
import { deliveries, follows, outbox, webhooks } from '../../src/db/schema.js';
import { webhookDestinationCheck } from '../../src/http/webhook-destination.js';
import { expectProblem, RecordingPipeline, startHarness, type Harness } from './harness.js';

let h: Harness;
const pipeline = new RecordingPipeline();
let alice: { row: { id: string }; token: string };
let bob: { row: { id: string }; token: string };

beforeAll(async () => {
  h = await startHarness({ pipeline });
  alice = await h.person('alice');
  bob = await h.person('bob');
});
afterAll(() => h?.close());

async function addDelivery(webhookId: string, n: number, state: 'sent' | 'failed') {
  h.t.clock.advance(1000);
  const id = newId(h.t.clock.now().getTime());
  await h.t.database.db.insert(deliveries).values({
    id,
    event: 'status.created',
    statusId: `status-${n}`,
    subscriberKind: 'webhook',
    subscriberId: webhookId,
    route: 'webhook',
    state,
    attempts: state === 'failed' ? 8 : 1,
    lastError: state === 'failed' ? 'HTTP 500' : null,
    dedupeKey: `d-${id}`,
    updatedAt: h.t.clock.now(),
  });
  return id;
}

describe('webhook endpoints', () => {
  it('creates one: 201 with a Standard Webhooks secret shown once, and sends nothing', async () => {
    const outboxBefore = (await h.t.database.db.select().from(outbox)).length;
    const r = await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1:9/in', description: 'accounting', filter: ['+#expense'] } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: expect.any(String), url: 'http://127.0.0.1:9/in', description: 'accounting', filter: ['+#expense'], enabled: true });
    expect(r.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    // The secret is a real Standard Webhooks key: a signature made with it verifies.
    const wh = new Webhook(r.body.secret);
    const payload = '{"type":"webhook.test"}';
    const sig = wh.sign('msg_1', new Date(), payload);
    expect(wh.verify(payload, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': sig })).toEqual({ type: 'webhook.test' });
    // Nothing is sent on creation: no test call, no delivery, no outbox event.
    expect(pipeline.tests).toEqual([]);
    expect(await h.t.database.db.select().from(deliveries).where(eq(deliveries.subscriberId, r.body.id))).toHaveLength(0);
    expect((await h.t.database.db.select().from(outbox)).length).toBe(outboxBefore);

    const got = await h.call('GET', `/api/v1/webhooks/${r.body.id}`, { token: alice.token });
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    expect(got.text).not.toContain('whsec_');
    expect(got.body).toMatchObject({ id: r.body.id, url: 'http://127.0.0.1:9/in', enabled: true });
    const list = await h.call('GET', '/api/v1/webhooks', { token: alice.token });
    expect(list.body.items.map((w: { id: string }) => w.id)).toEqual([r.body.id]);
    expect(list.text).not.toContain('whsec_');
  });

  it('validates the URL: http/https only, and no private address unless allowed', async () => {
    expectProblem(await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'ftp://127.0.0.1/x' } }), 400, /https:\/\/ or http:\/\//);
    expectProblem(await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'not a url' } }), 400, /not a URL/);
    expectProblem(await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: {} }), 400, /Field "url"/);
    expectProblem(await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1/x', filter: ['nope'] } }), 400, /not a filter/);
  });

  it('with ALLOW_PRIVATE_URLS=false the save-time check refuses private, loopback and link-local targets, names included', async () => {
    // Names resolve through an injected lookup: the test never asks DNS.
    const names: Record<string, string[]> = { 'intranet.corp.example': ['10.0.0.8'], 'rebind.example': ['93.184.215.14', '127.0.0.1'], 'public.example': ['93.184.215.14'] };
    const lookup = async (host: string) => (names[host] ?? []).map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
    const check = webhookDestinationCheck({ net: { allowPrivateUrls: false } }, lookup);
    for (const url of ['http://127.0.0.1/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest', 'http://[::1]/x', 'http://[::ffff:127.0.0.1]/x', 'http://0x7f000001/x', 'https://intranet.corp.example/x', 'https://rebind.example/x']) {
      await expect(check(new URL(url)), url).rejects.toThrow(/^The webhook URL is refused: .*private, loopback or link-local/);
    }
    await expect(check(new URL('https://nowhere.example/x'))).rejects.toThrow(/does not resolve/);
    await expect(check(new URL('https://public.example/x'))).resolves.toBeUndefined();
    await expect(check(new URL('https://93.184.215.14/x'))).resolves.toBeUndefined();
    const allowed = webhookDestinationCheck({ net: { allowPrivateUrls: true } }, lookup);
    await expect(allowed(new URL('http://127.0.0.1/x'))).resolves.toBeUndefined();
    await expect(allowed(new URL('https://intranet.corp.example/x'))).resolves.toBeUndefined();
  });

  it('the API refuses a private URL when private addresses are not allowed', async () => {
    // The harness allows private URLs through the older name; the same name turns it off here.
    const strict = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
    try {
      const carol = await strict.person('carol');
      expectProblem(await strict.call('POST', '/api/v1/webhooks', { token: carol.token, body: { url: 'http://10.0.0.7/hook' } }), 400, /unless ALLOW_PRIVATE_URLS=true/);
      expect(await strict.t.database.db.select().from(webhooks)).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it('PATCH changes url, description, filter and enabled; owner or admin only', async () => {
    const w = await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1:9/a' } });
    await h.t.database.db.update(webhooks).set({ enabled: false, disabledReason: 'HTTP 410 Gone', failingSince: new Date() }).where(eq(webhooks.id, w.body.id));
    expectProblem(await h.call('PATCH', `/api/v1/webhooks/${w.body.id}`, { token: bob.token, body: { enabled: true } }), 403, /owner of this webhook/);
    const p = await h.call('PATCH', `/api/v1/webhooks/${w.body.id}`, { token: alice.token, body: { url: 'https://127.0.0.1:8443/b', description: 'new', filter: ['-#noise'], enabled: true } });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ url: 'https://127.0.0.1:8443/b', description: 'new', filter: ['-#noise'], enabled: true, disabled_reason: null });
    expect(p.body.secret).toBeUndefined();
    expectProblem(await h.call('PATCH', `/api/v1/webhooks/${w.body.id}`, { token: alice.token, body: { enabled: 'yes' } }), 400, /Field "enabled": must be true or false/);
    expectProblem(await h.call('PATCH', `/api/v1/webhooks/${w.body.id}`, { token: alice.token, body: { url: 'gopher://x' } }), 400);
    const admin = await h.call('PATCH', `/api/v1/webhooks/${w.body.id}`, { body: { description: 'by admin' } });
    expect(admin.body.description).toBe('by admin');
  });

  it("GET/DELETE: 404 unknown, 403 someone else's; delete removes its follows", async () => {
    const w = await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1:9/c' } });
    await h.call('POST', '/api/v1/follows', { token: alice.token, body: { target: '#deploy', webhook: w.body.id } });
    expectProblem(await h.call('GET', '/api/v1/webhooks/nope', { token: alice.token }), 404, /No webhook endpoint/);
    expectProblem(await h.call('GET', `/api/v1/webhooks/${w.body.id}`, { token: bob.token }), 403);
    expectProblem(await h.call('DELETE', `/api/v1/webhooks/${w.body.id}`, { token: bob.token }), 403);
    expect((await h.call('DELETE', `/api/v1/webhooks/${w.body.id}`, { token: alice.token })).status).toBe(204);
    expectProblem(await h.call('GET', `/api/v1/webhooks/${w.body.id}`, { token: alice.token }), 404);
    expect(await h.t.database.db.select().from(follows).where(eq(follows.subscriberId, w.body.id))).toHaveLength(0);
  });

  it("a service's owners manage the service's endpoints", async () => {
    await createService(h.t.ctx, { handle: 'ledger', name: 'Ledger', owners: ['alice'] });
    const ledgerToken = await createApiToken(h.t.ctx, (await requireSource(h.t.ctx, 'ledger')).id);
    const w = await h.call('POST', '/api/v1/webhooks', { token: ledgerToken, body: { url: 'http://127.0.0.1:9/ledger' } });
    expect(w.status).toBe(201);
    expect((await h.call('GET', `/api/v1/webhooks/${w.body.id}`, { token: alice.token })).status).toBe(200);
    expectProblem(await h.call('GET', `/api/v1/webhooks/${w.body.id}`, { token: bob.token }), 403);
    expectProblem(await h.call('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/x' } }), 422, /admin token/);
  });
});

describe('deliveries, redeliver and test events', () => {
  it('lists deliveries newest first in the delivery shape, paginated', async () => {
    const w = await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1:9/d' } });
    const d1 = await addDelivery(w.body.id, 1, 'sent');
    const d2 = await addDelivery(w.body.id, 2, 'failed');
    const d3 = await addDelivery(w.body.id, 3, 'sent');
    const r = await h.call('GET', `/api/v1/webhooks/${w.body.id}/deliveries?limit=2`, { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.body.items.map((d: { id: string }) => d.id)).toEqual([d3, d2]);
    expect(r.body.items[1]).toMatchObject({
      id: d2,
      status_id: 'status-2',
      subscriber: { kind: 'webhook', id: w.body.id },
      route: 'webhook',
      state: 'failed',
      attempts: 8,
      last_error: 'HTTP 500',
      updated_at: expect.stringMatching(/Z$/),
    });
    expect(r.body.items[0].last_error).toBeUndefined();
    const r2 = await h.call('GET', `/api/v1/webhooks/${w.body.id}/deliveries?limit=2&before=${r.body.next}`, { token: alice.token });
    expect(r2.body).toEqual({ items: [expect.objectContaining({ id: d1 })], next: null });
    expectProblem(await h.call('GET', `/api/v1/webhooks/${w.body.id}/deliveries`, { token: bob.token }), 403);

    const re = await h.call('POST', `/api/v1/deliveries/${d2}/redeliver`, { token: alice.token });
    expect(re.status).toBe(202);
    expect(re.body).toEqual({ delivery_id: d2 });
    expect(pipeline.redelivered).toEqual([d2]);
    expectProblem(await h.call('POST', `/api/v1/deliveries/${d2}/redeliver`, { token: bob.token }), 403);
    expectProblem(await h.call('POST', '/api/v1/deliveries/nope/redeliver', { token: alice.token }), 404, /No delivery/);
    expect(pipeline.redelivered).toEqual([d2]);
  });

  it('POST /webhooks/:id/test answers 202 and asks the pipeline for a webhook.test event', async () => {
    const w = await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1:9/t' } });
    const r = await h.call('POST', `/api/v1/webhooks/${w.body.id}/test`, { token: alice.token });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ delivery_id: `test-${w.body.id}` });
    expect(pipeline.tests).toEqual([w.body.id]);
    expectProblem(await h.call('POST', `/api/v1/webhooks/${w.body.id}/test`, { token: bob.token }), 403);
    expect(pipeline.tests).toEqual([w.body.id]);
  });
});
