import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../src/app/services.js';
import { createApiToken } from '../../src/app/tokens.js';
import { requireSource } from '../../src/app/people.js';
import { newId } from '../../src/core/ids.js';
import { deliveries } from '../../src/db/schema.js';
import { ownDeliveriesResponse } from '../../src/http/routes/webhooks.js';
import { expectProblem, startHarness, type Harness } from './harness.js';

let h: Harness;
let alice: Awaited<ReturnType<Harness['person']>>;
let bob: Awaited<ReturnType<Harness['person']>>;

beforeAll(async () => {
  h = await startHarness();
  alice = await h.person('alice');
  bob = await h.person('bob');
});
afterAll(() => h?.close());

/** A delivery row as the pipeline writes it (the pipeline itself is not running in this harness). */
async function addDelivery(subscriber: { kind: 'person' | 'webhook'; id: string }, route: 'dm' | 'email' | 'webhook', state: 'queued' | 'sent' | 'failed') {
  h.t.clock.advance(1000);
  const id = newId(h.t.clock.now().getTime());
  await h.t.database.db.insert(deliveries).values({
    id,
    event: 'status.created',
    statusId: `status-${id}`,
    subscriberKind: subscriber.kind,
    subscriberId: subscriber.id,
    route,
    state,
    attempts: state === 'failed' ? 5 : 1,
    lastError: state === 'failed' ? 'Slack answered channel_not_found' : null,
    dedupeKey: `d-${id}`,
    updatedAt: h.t.clock.now(),
  });
  return id;
}

describe('GET /api/v1/deliveries', () => {
  it("lists the token owner's own deliveries, newest first, cursor paginated, in the SPEC's shape", async () => {
    const mine = [
      await addDelivery({ kind: 'person', id: alice.row.id }, 'dm', 'sent'),
      await addDelivery({ kind: 'person', id: alice.row.id }, 'email', 'queued'),
      await addDelivery({ kind: 'person', id: alice.row.id }, 'dm', 'failed'),
    ];
    const theirs = await addDelivery({ kind: 'person', id: bob.row.id }, 'dm', 'sent');
    // A webhook endpoint's deliveries are in its own log, even when the endpoint's id happened to equal a person's.
    await addDelivery({ kind: 'webhook', id: alice.row.id }, 'webhook', 'sent');

    const all = await h.call('GET', '/api/v1/deliveries', { token: alice.token });
    expect(all.status).toBe(200);
    expect(() => ownDeliveriesResponse.parse(all.body)).not.toThrow();
    expect(all.body.items.map((d: { id: string }) => d.id)).toEqual([...mine].reverse());
    expect(all.body.next).toBeNull();
    const failed = all.body.items[0];
    expect(failed).toMatchObject({
      id: mine[2],
      status_id: `status-${mine[2]}`,
      subscriber: { kind: 'person', id: alice.row.id },
      route: 'dm',
      state: 'failed',
      attempts: 5,
      last_error: 'Slack answered channel_not_found',
      updated_at: expect.stringMatching(/Z$/),
    });
    expect(all.body.items[1]).not.toHaveProperty('last_error');

    const p1 = await h.call('GET', '/api/v1/deliveries?limit=2', { token: alice.token });
    expect(p1.body.items.map((d: { id: string }) => d.id)).toEqual([mine[2], mine[1]]);
    expect(p1.body.next).toBe(mine[1]);
    const p2 = await h.call('GET', `/api/v1/deliveries?limit=2&before=${p1.body.next}`, { token: alice.token });
    expect(p2.body).toEqual({ items: [expect.objectContaining({ id: mine[0] })], next: null });

    const onlyFailed = await h.call('GET', '/api/v1/deliveries?state=failed', { token: alice.token });
    expect(onlyFailed.body.items.map((d: { id: string }) => d.id)).toEqual([mine[2]]);

    const bobs = await h.call('GET', '/api/v1/deliveries', { token: bob.token });
    expect(bobs.body.items.map((d: { id: string }) => d.id)).toEqual([theirs]);
  });

  it('refuses what it cannot answer: no token, a bad query, a service token, the bare admin token', async () => {
    expectProblem(await h.call('GET', '/api/v1/deliveries', { token: null }), 401);
    expectProblem(await h.call('GET', '/api/v1/deliveries?limit=500', { token: alice.token }), 400, /limit/);
    expectProblem(await h.call('GET', '/api/v1/deliveries?state=lost', { token: alice.token }), 400, /state/);
    await createService(h.t.ctx, { handle: 'build', name: 'Build' });
    const service = await createApiToken(h.t.ctx, (await requireSource(h.t.ctx, 'build')).id);
    expectProblem(await h.call('GET', '/api/v1/deliveries', { token: service }), 422, /service token cannot list its own deliveries/);
    expectProblem(await h.call('GET', '/api/v1/deliveries'), 422, /admin token acts for no source/);
  });
});
