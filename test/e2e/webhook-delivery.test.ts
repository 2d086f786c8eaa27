import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { WebhookReceiver } from '../fakes/webhook-receiver.js';
import { ADMIN, eventually, person, startE2E, type E2E } from './harness.js';

/**
 * The core with no chat platform: services and people post over HTTP, others follow through outgoing
 * webhooks, and every permitted follower gets each status once, signed, through the real pipeline
 * (outbox -> relay -> BullMQ fan-out -> deliver worker) on PostgreSQL and Redis.
 */
let e: E2E;
let receiver: WebhookReceiver;
let build: string; // service token
let alice: { handle: string; token: string };
let bob: { handle: string; token: string };

interface Hook {
  id: string;
  secret: string;
  path: string;
}

async function hook(owner: { token: string }, path: string, target: string): Promise<Hook> {
  const w = await e.call<{ id: string; secret: string; enabled: boolean }>('POST', '/api/v1/webhooks', { token: owner.token, body: { url: receiver.url(path), description: path } });
  expect(w.status).toBe(201);
  expect(w.body.secret).toMatch(/^whsec_/);
  receiver.expect(path, w.body.secret);
  const f = await e.call<{ state: string; route: string }>('POST', '/api/v1/follows', { token: owner.token, body: { target, webhook: w.body.id } });
  expect(f.status).toBe(201);
  expect(f.body.route).toBe('webhook');
  return { id: w.body.id, secret: w.body.secret, path };
}

async function post(token: string, text: string, headers: Record<string, string> = {}) {
  const r = await e.call<{ id: string; text: string }>('POST', '/api/v1/statuses', { token, body: { text }, headers });
  expect(r.status).toBe(201);
  return r.body;
}

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  e = await startE2E();
  await e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'build', name: 'Build server' } });
  build = (await e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: '@build' } })).body.token;
  alice = await person(e, 'alice');
  bob = await person(e, 'bob');
}, 60_000);

afterAll(async () => {
  await e?.close();
  await receiver?.close();
});

describe('end to end: HTTP in, signed webhooks out', () => {
  it('delivers a status to a webhook follower, signed so that the standardwebhooks library verifies it', async () => {
    const h = await hook(alice, '/alice', '@build');
    const s = await post(build, 'Deployed v1.2 #deploy costs $42.50');
    const ev = await eventually(() => receiver.eventsAt(h.path).find((x) => x.body.data.id === s.id), 'the webhook delivery');
    expect(ev.type).toBe('status.created');
    expect(ev.body.data).toMatchObject({ text: 'Deployed v1.2 #deploy costs $42.50', platform: 'api', source: { handle: 'build', kind: 'service', name: 'Build server' } });
    expect(ev.body.data.entities).toEqual({ mentions: [], tags: ['deploy'], urls: [], amounts: [{ value: '42.50', currency: 'USD' }] });
    // The receiver verified it with the standardwebhooks library; a wrong secret must not verify.
    expect(receiver.badSignatures.filter((b) => b.path === h.path)).toHaveLength(0);
    const fake = new Webhook(`whsec_${Buffer.from('not-the-secret-at-all-123').toString('base64')}`);
    expect(() => fake.verify(ev.raw, { 'webhook-id': ev.id, 'webhook-timestamp': ev.timestamp, 'webhook-signature': 'v1,AAAA' })).toThrow();
    const log = await e.call<{ items: { state: string; status_id: string; attempts: number }[] }>('GET', `/api/v1/webhooks/${h.id}/deliveries`, { token: alice.token });
    await eventually(async () => {
      const l = await e.call<{ items: { state: string; status_id: string }[] }>('GET', `/api/v1/webhooks/${h.id}/deliveries`, { token: alice.token });
      return l.body.items.find((d) => d.status_id === s.id && d.state === 'sent');
    }, 'the delivery log to say sent');
    expect(log.status).toBe(200);
  });

  it('retries after the receiver answered 500 twice, with the same webhook-id', async () => {
    const h = await hook(bob, '/flaky', '@build');
    receiver.answer(h.path, { kind: 'fail', status: 500, times: 2 });
    const s = await post(build, 'flaky receiver test');
    const ev = await eventually(() => receiver.eventsAt(h.path).find((x) => x.body.data.id === s.id), 'the third attempt');
    expect(receiver.requests.filter((r) => r.path === h.path && r.id === ev.id)).toHaveLength(3);
    expect(receiver.repeats(ev.id)).toBe(0);
  });

  it('marks a delivery failed after the last attempt, and a re-send succeeds with the same webhook-id', async () => {
    const carol = await person(e, 'carol');
    const h = await hook(carol, '/dead', '@build');
    receiver.answer(h.path, { kind: 'status', status: 503 });
    const s = await post(build, 'nobody home');
    const failed = await eventually(async () => {
      const l = await e.call<{ items: { id: string; state: string; status_id: string; attempts: number; last_error?: string }[] }>('GET', `/api/v1/webhooks/${h.id}/deliveries`, { token: carol.token });
      return l.body.items.find((d) => d.status_id === s.id && d.state === 'failed');
    }, 'the delivery to fail');
    // WEBHOOK_RETRY_DELAYS has two delays: three attempts.
    expect(failed.attempts).toBe(3);
    expect(failed.last_error).toMatch(/503/);
    receiver.answer(h.path, { kind: 'ok' });
    const r = await e.call('POST', `/api/v1/deliveries/${failed.id}/redeliver`, { token: carol.token });
    expect(r.status).toBe(202);
    const ev = await eventually(() => receiver.eventsAt(h.path).find((x) => x.body.data.id === s.id), 'the re-sent delivery');
    expect(ev.id).toBe(failed.id);
  });

  it('one Idempotency-Key makes a repeated post one status and one delivery', async () => {
    const dave = await person(e, 'dave');
    const h = await hook(dave, '/idem', '@build');
    const a = await post(build, 'posted twice', { 'idempotency-key': 'k-123' });
    const b = await post(build, 'posted twice', { 'idempotency-key': 'k-123' });
    expect(b.id).toBe(a.id);
    await eventually(() => receiver.eventsAt(h.path).find((x) => x.body.data.id === a.id), 'the delivery');
    // Give a second (wrong) delivery time to show up: the next status must arrive after the first and alone.
    const c = await post(build, 'marker after the repeat');
    await eventually(() => receiver.eventsAt(h.path).find((x) => x.body.data.id === c.id), 'the marker');
    expect(receiver.eventsAt(h.path).filter((x) => x.body.data.id === a.id)).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.path === h.path)).toHaveLength(2);
  });

  it('never sends a protected source\'s status to an unapproved follower, and does once approved', async () => {
    await e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['alice'] } });
    const payroll = (await e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: '@payroll' } })).body.token;
    const eve = await person(e, 'eve');
    const w = await e.call<{ id: string; secret: string }>('POST', '/api/v1/webhooks', { token: eve.token, body: { url: receiver.url('/eve') } });
    receiver.expect('/eve', w.body.secret);
    const f = await e.call<{ id: string; state: string }>('POST', '/api/v1/follows', { token: eve.token, body: { target: '@payroll', webhook: w.body.id } });
    expect(f.body.state).toBe('pending');
    const hidden = await post(payroll, 'salaries are paid (secret)');
    // A public marker proves the pipeline ran for eve's endpoint meanwhile.
    await e.call('POST', '/api/v1/follows', { token: eve.token, body: { target: '@build', webhook: w.body.id } });
    const marker = await post(build, 'public marker for eve');
    await eventually(() => receiver.eventsAt('/eve').find((x) => x.body.data.id === marker.id), 'the marker');
    expect(receiver.eventsAt('/eve').some((x) => x.body.data.id === hidden.id)).toBe(false);
    expect(receiver.requests.filter((r) => r.path === '/eve')).toHaveLength(1);
    // Eve cannot approve her own request; alice (owner) can.
    expect((await e.call('POST', `/api/v1/follows/${f.body.id}/approve`, { token: eve.token })).status).toBe(403);
    expect((await e.call('POST', `/api/v1/follows/${f.body.id}/approve`, { token: alice.token })).status).toBe(200);
    const later = await post(payroll, 'bonus day');
    await eventually(() => receiver.eventsAt('/eve').find((x) => x.body.data.id === later.id), 'the approved delivery');
  });

  it('a follower who switched a follow off gets nothing, and the delivery says why', async () => {
    const frank = await person(e, 'frank');
    const h = await hook(frank, '/frank', '@build');
    const list = await e.call<{ items: { id: string; target: string }[] }>('GET', '/api/v1/follows', { token: frank.token });
    const followId = list.body.items[0]!.id;
    const bad = await e.call<{ detail: string }>('PATCH', `/api/v1/follows/${followId}`, { token: frank.token, body: { state: 'maybe' } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body.detail).toMatch(/on.*off/);
    expect((await e.call('PATCH', `/api/v1/follows/${followId}`, { token: alice.token, body: { state: 'off' } })).status).toBe(403);
    const off = await e.call<{ state: string }>('PATCH', `/api/v1/follows/${followId}`, { token: frank.token, body: { state: 'off' } });
    expect(off.status).toBe(200);
    expect(off.body.state).toBe('off');
    const s = await post(build, 'while frank is off');
    const skipped = await eventually(async () => {
      const l = await e.call<{ items: { state: string; status_id: string; last_error?: string }[] }>('GET', `/api/v1/webhooks/${h.id}/deliveries`, { token: frank.token });
      return l.body.items.find((d) => d.status_id === s.id);
    }, 'the skipped delivery');
    expect(skipped.state).toBe('skipped');
    expect(receiver.hits(h.path)).toBe(0);
  });
});
