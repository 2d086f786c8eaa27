import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCommand } from '../../src/app/commands/execute.js';
import { MAX_PENDING_REQUESTS } from '../../src/app/follows.js';
import { createService } from '../../src/app/services.js';
import { follows, outbox } from '../../src/db/schema.js';
import { expectProblem, startHarness, type Harness } from '../http/harness.js';

/**
 * Class 7 of docs/security.md: request, withdraw, request again cannot flood a protected source's
 * owners (one DM and one follow.requested per requester, source and day), and one requester has at
 * most 20 requests waiting. Class 3's last part: requests name the requester by handle, not by id.
 */
let h: Harness;
let alice: Awaited<ReturnType<Harness['person']>>;
let bob: Awaited<ReturnType<Harness['person']>>;

const requestedEvents = async () => h.t.database.db.select().from(outbox).where(eq(outbox.event, 'follow.requested'));
const requestCycle = async (token: string, target: string) => {
  const r = await h.call('POST', '/api/v1/follows', { token, body: { target } });
  expect(r.status).toBe(201);
  expect(r.body.state).toBe('pending');
  return r.body.id as string;
};

beforeAll(async () => {
  h = await startHarness();
  alice = await h.person('alice');
  bob = await h.person('bob');
  await createService(h.t.ctx, { handle: 'vault', name: 'Vault', visibility: 'protected', owners: ['alice'] });
  await createService(h.t.ctx, { handle: 'safe', name: 'Safe', visibility: 'protected', owners: ['alice'] });
});

afterAll(async () => {
  await h?.close();
});

describe('follow requests notify an owner at most once a day per requester and source', () => {
  it('request, withdraw, request again: one follow.requested; the latest request is still listed', async () => {
    const before = (await requestedEvents()).length;
    let id = '';
    for (let i = 0; i < 5; i++) {
      id = await requestCycle(bob.token, '@vault');
      if (i < 4) expect((await h.call('DELETE', `/api/v1/follows/${id}`, { token: bob.token })).status).toBe(204);
    }
    expect((await requestedEvents()).length - before).toBe(1);
    const listed = await h.call('GET', '/api/v1/follow-requests', { token: alice.token });
    expect(listed.body.items.map((f: { id: string }) => f.id)).toContain(id);

    // Another source is another notice; a day later the same one is told again.
    await requestCycle(bob.token, '@safe');
    expect((await requestedEvents()).length - before).toBe(2);
    expect((await h.call('DELETE', `/api/v1/follows/${id}`, { token: bob.token })).status).toBe(204);
    h.t.clock.advance(24 * 60 * 60 * 1000 + 1000);
    await requestCycle(bob.token, '@vault');
    expect((await requestedEvents()).length - before).toBe(3);
  });

  it('the list names the requester by handle and never shows their internal id', async () => {
    const listed = await h.call('GET', '/api/v1/follow-requests', { token: alice.token });
    expect(listed.status).toBe(200);
    for (const item of listed.body.items as { subscriber: Record<string, unknown> }[]) {
      expect(item.subscriber).toEqual({ kind: 'person', handle: '@bob' });
    }
    expect(listed.text).not.toContain(bob.row.id);
    const chat = await executeCommand(h.t.ctx, { actor: alice.row, platform: 'slack', text: 'requests' });
    expect(chat.text).toContain('@bob');
    expect(chat.text).not.toContain(bob.row.id);
  });
});

describe('at most 20 pending requests per requester', () => {
  it('the 21st is 429 problem+json over the API and a sentence in chat; nothing is created', async () => {
    const carol = await h.person('carol');
    for (let i = 1; i <= MAX_PENDING_REQUESTS + 1; i++) await createService(h.t.ctx, { handle: `locked${i}`, name: `Locked ${i}`, visibility: 'protected', owners: ['alice'] });
    for (let i = 1; i <= MAX_PENDING_REQUESTS; i++) await requestCycle(carol.token, `@locked${i}`);

    const over = await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: `@locked${MAX_PENDING_REQUESTS + 1}` } });
    expectProblem(over, 429, /20 of your follow requests are already waiting/);
    expect(over.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const said = await executeCommand(h.t.ctx, { actor: carol.row, platform: 'teams', text: `follow @locked${MAX_PENDING_REQUESTS + 1}` });
    expect(said.text).toMatch(/20 of your follow requests are already waiting for approval/);
    const pending = await h.t.database.db.select().from(follows).where(and(eq(follows.subscriberId, carol.row.id), eq(follows.state, 'pending')));
    expect(pending).toHaveLength(MAX_PENDING_REQUESTS);

    // Following a public source, or changing a request already waiting, is not a new request.
    expect((await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: '@alice' } })).status).toBe(201);
    expect((await h.call('POST', '/api/v1/follows', { token: carol.token, body: { target: '@locked1', route: 'email' } })).status).toBe(200);
  });
});
