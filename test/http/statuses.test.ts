import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { follow, resolveTarget } from '../../src/app/follows.js';
import { requireSource } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { createApiToken, revokeToken } from '../../src/app/tokens.js';
import { outbox, statuses, tokens } from '../../src/db/schema.js';
import { ADMIN, expectProblem, startHarness, type Harness } from './harness.js';

let h: Harness;
let alice: { row: { id: string }; token: string };
let bob: { row: { id: string }; token: string };
let buildToken: string;

beforeAll(async () => {
  h = await startHarness();
  alice = await h.person('alice');
  bob = await h.person('bob');
  await createService(h.t.ctx, { handle: 'build', name: 'Build server', owners: ['alice'] });
  await createService(h.t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['alice'] });
  buildToken = await createApiToken(h.t.ctx, (await requireSource(h.t.ctx, 'build')).id);
});
afterAll(() => h?.close());

describe('POST /api/v1/statuses', () => {
  it('posts as the token owner and answers 201 with the status shape', async () => {
    const r = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'Paid EUR 12 for #lunch with @bob https://x.example/a' } });
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body).toMatchObject({
      id: expect.any(String),
      text: 'Paid EUR 12 for #lunch with @bob https://x.example/a',
      platform: 'api',
      source: { handle: 'alice', kind: 'person', name: 'Alice' },
      entities: { mentions: ['bob'], tags: ['lunch'], urls: ['https://x.example/a'], amounts: [{ value: '12', currency: 'EUR' }] },
    });
    expect(new Date(r.body.created_at).toISOString()).toBe(r.body.created_at);
    expect(r.body.url).toBe(`${h.t.config.publicUrl}/statuses/${r.body.id}`);
    expect(r.headers.get('location')).toBe(r.body.url);
    const [row] = await h.t.database.db.select().from(statuses).where(eq(statuses.id, r.body.id));
    expect(row?.authorId).toBe(alice.row.id);
  });

  it('a repeated Idempotency-Key answers the first status again and writes one status and one outbox row', async () => {
    const send = (text: string) => h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text }, headers: { 'idempotency-key': 'retry-42' } });
    const a = await send('deploy started');
    const b = await send('deploy started');
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).toBe(a.body.id);
    expect(b.body).toEqual(a.body);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const rows = await h.t.database.db.select().from(statuses).where(eq(statuses.text, 'deploy started'));
    expect(rows).toHaveLength(1);
    const events = await h.t.database.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.event, 'status.created'), sql`${outbox.payload}->>'statusId' = ${a.body.id}`));
    expect(events).toHaveLength(1);
    // The same key from another token is another request.
    const c = await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: 'deploy started' }, headers: { 'idempotency-key': 'retry-42' } });
    expect(c.status).toBe(201);
    expect(c.body.id).not.toBe(a.body.id);
  });

  it('refuses a malformed Idempotency-Key', async () => {
    const r = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'x' }, headers: { 'idempotency-key': 'a'.repeat(300) } });
    expectProblem(r, 400, /Idempotency-Key/);
  });

  it('posts as a service its owner owns, with the person as author', async () => {
    const r = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'build 12 green', as: '@build' } });
    expect(r.status).toBe(201);
    expect(r.body.source).toEqual({ handle: 'build', kind: 'service', name: 'Build server' });
    const [row] = await h.t.database.db.select().from(statuses).where(eq(statuses.id, r.body.id));
    expect(row?.authorId).toBe(alice.row.id);
  });

  it('403 when posting as a service you do not own', async () => {
    const r = await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: 'not mine', as: 'build' } });
    expectProblem(r, 403, /not an owner of @build/);
  });

  it('a service token posts as the service, with no author', async () => {
    const r = await h.call('POST', '/api/v1/statuses', { token: buildToken, body: { text: 'nightly done' } });
    expect(r.status).toBe(201);
    expect(r.body.source.handle).toBe('build');
    const [row] = await h.t.database.db.select().from(statuses).where(eq(statuses.id, r.body.id));
    expect(row?.authorId).toBeNull();
    const other = await h.call('POST', '/api/v1/statuses', { token: buildToken, body: { text: 'as alice', as: 'alice' } });
    expectProblem(other, 403);
  });

  it('the admin token must say whom it posts as', async () => {
    expectProblem(await h.call('POST', '/api/v1/statuses', { body: { text: 'hello' } }), 400, /"as"/);
    const r = await h.call('POST', '/api/v1/statuses', { body: { text: 'maintenance tonight', as: 'build' } });
    expect(r.status).toBe(201);
    expect(r.body.source.handle).toBe('build');
  });

  it('422 for an empty or too long status', async () => {
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: '   ' } }), 422, /needs some text/);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'x'.repeat(1001) } }), 422, /at most 1,000 characters; this one has 1,001/);
    const ok = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'é'.repeat(1000) } });
    expect(ok.status).toBe(201);
  });

  it('400 for malformed JSON, wrong fields, unknown fields and a missing body', async () => {
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, raw: '{"text": ', headers: { 'content-type': 'application/json' } }), 400, /^The body is not valid JSON\.$/);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 42 } }), 400, /Field "text": must be a string/);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'hi', colour: 'red' } }), 400, /Unknown field "colour"/);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, body: ['hi'] }), 400, /object/);
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, raw: 'hi', headers: { 'content-type': 'text/plain' } }), 400, /JSON object/);
  });

  it('404 when posting as an unknown handle', async () => {
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'hi', as: 'nobody' } }), 404, /^@nobody is not a known handle\.$/);
  });

  it('413 for a body over 64 KiB, declared or chunked', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(70 * 1024) });
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: alice.token, raw: big, headers: { 'content-type': 'application/json' } }), 413, /64 KiB/);
    // Without Content-Length (chunked): the JSON parser's own limit refuses it.
    const chunks = [new TextEncoder().encode(big.slice(0, 40_000)), new TextEncoder().encode(big.slice(40_000))];
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const res = await fetch(`${h.base}/api/v1/statuses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/64 KiB/);
  });
});

describe('authentication', () => {
  it('401 with WWW-Authenticate: Bearer without a token, with a bad one, a malformed header, a revoked or an expired token', async () => {
    const missing = await h.call('GET', '/api/v1/timeline', { token: null });
    expectProblem(missing, 401, /bearer token/);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expectProblem(await h.call('GET', '/api/v1/timeline', { token: 'tp_not-a-real-token' }), 401, /not valid/);
    expectProblem(await h.call('GET', '/api/v1/timeline', { token: null, headers: { authorization: `Basic ${btoa('a:b')}` } }), 401, /Bearer/);

    const carol = await h.person('carol');
    expect((await h.call('GET', '/api/v1/timeline', { token: carol.token })).status).toBe(200);
    const [tok] = await h.t.database.db.select().from(tokens).where(eq(tokens.sourceId, carol.row.id));
    await revokeToken(h.t.ctx, tok!.id);
    const revoked = await h.call('GET', '/api/v1/timeline', { token: carol.token });
    expectProblem(revoked, 401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer');

    const expiring = await createApiToken(h.t.ctx, carol.row.id, null, new Date(h.t.clock.now().getTime() + 60_000));
    expect((await h.call('GET', '/api/v1/timeline', { token: expiring })).status).toBe(200);
    h.t.clock.advance(61_000);
    expectProblem(await h.call('GET', '/api/v1/timeline', { token: expiring }), 401, /expired/);
  });

  it('accepts the ADMIN_TOKEN', async () => {
    expect((await h.call('GET', '/api/v1/audit', { token: ADMIN })).status).toBe(200);
  });
});

describe('GET and DELETE /api/v1/statuses/:id', () => {
  it('reads a status, deletes it (204) and then answers 404', async () => {
    const posted = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'to be deleted' } });
    const got = await h.call('GET', `/api/v1/statuses/${posted.body.id}`, { token: bob.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(posted.body);
    expectProblem(await h.call('DELETE', `/api/v1/statuses/${posted.body.id}`, { token: bob.token }), 403, /not an owner/);
    const del = await h.call('DELETE', `/api/v1/statuses/${posted.body.id}`, { token: alice.token });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectProblem(await h.call('GET', `/api/v1/statuses/${posted.body.id}`, { token: alice.token }), 404);
    const events = await h.t.database.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.event, 'status.deleted'), sql`${outbox.payload}->>'statusId' = ${posted.body.id}`));
    expect(events).toHaveLength(1);
  });

  it('404 for an unknown status', async () => {
    expectProblem(await h.call('GET', '/api/v1/statuses/00000000-0000-7000-8000-000000000000', { token: alice.token }), 404, /No status/);
    expectProblem(await h.call('DELETE', '/api/v1/statuses/nope', { token: alice.token }), 404);
  });
});

describe('timelines', () => {
  it("pages a source's statuses newest first with a cursor", async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      h.t.clock.advance(1000);
      const r = await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: `bob ${i}` } });
      ids.push(r.body.id);
    }
    const p1 = await h.call('GET', '/api/v1/sources/bob/statuses?limit=2', { token: alice.token });
    expect(p1.status).toBe(200);
    expect(p1.body.items.map((s: { text: string }) => s.text)).toEqual(['bob 5', 'bob 4']);
    expect(p1.body.next).toEqual(expect.any(String));
    const p2 = await h.call('GET', `/api/v1/sources/@bob/statuses?limit=2&before=${encodeURIComponent(p1.body.next)}`, { token: alice.token });
    expect(p2.body.items.map((s: { text: string }) => s.text)).toEqual(['bob 3', 'bob 2']);
    const all = await h.call('GET', '/api/v1/sources/bob/statuses?limit=100', { token: alice.token });
    expect(all.body.next).toBeNull();
  });

  it('400 for a bad limit, 404 for an unknown handle, 403 for a protected timeline', async () => {
    expectProblem(await h.call('GET', '/api/v1/sources/bob/statuses?limit=101', { token: alice.token }), 400, /Query parameter "limit": must be a whole number from 1 to 100/);
    expectProblem(await h.call('GET', '/api/v1/sources/bob/statuses?limit=zero', { token: alice.token }), 400, /"limit"/);
    expectProblem(await h.call('GET', '/api/v1/sources/nobody/statuses', { token: alice.token }), 404, /@nobody is not a known handle/);
    await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'salaries paid', as: 'payroll' } });
    expectProblem(await h.call('GET', '/api/v1/sources/payroll/statuses', { token: bob.token }), 403, /protected/);
    const own = await h.call('GET', '/api/v1/sources/payroll/statuses', { token: alice.token });
    expect(own.body.items[0].text).toBe('salaries paid');
  });

  it("GET /api/v1/timeline is the token owner's home timeline", async () => {
    const dave = await h.person('dave');
    await follow(h.t.ctx, { subscriber: { kind: 'person', id: dave.row.id }, actor: { id: dave.row.id, isAdmin: false }, target: await resolveTarget(h.t.ctx, '@bob'), route: 'dm', via: 'api' });
    const r = await h.call('GET', '/api/v1/timeline?limit=3', { token: dave.token });
    expect(r.status).toBe(200);
    expect(r.body.items).toHaveLength(3);
    expect(r.body.items.every((s: { source: { handle: string } }) => s.source.handle === 'bob')).toBe(true);
    expect(r.body.next).toEqual(expect.any(String));
    expectProblem(await h.call('GET', '/api/v1/timeline'), 422, /admin token/);
  });
});
