import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../src/app/services.js';
import { createHookUrl } from '../../src/app/tokens.js';
import { requireSource } from '../../src/app/people.js';
import { expectProblem, startHarness, type Harness } from './harness.js';

let h: Harness;
let alice: Awaited<ReturnType<Harness['person']>>;
beforeAll(async () => {
  h = await startHarness();
  alice = await h.person('alice');
});
afterAll(() => h?.close());

describe('a known path with a method it does not take', () => {
  it('answers 405 problem+json with an Allow header listing the methods it takes', async () => {
    const put = await h.call('PUT', '/api/v1/statuses', { token: alice.token, body: { text: 'x' } });
    expectProblem(put, 405, /PUT is not allowed on \/api\/v1\/statuses; it takes POST/);
    expect(put.headers.get('allow')).toBe('POST');

    const status = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'hello' } });
    const one = await h.call('PUT', `/api/v1/statuses/${status.body.id}`, { token: alice.token, body: { text: 'y' } });
    expectProblem(one, 405);
    expect(one.headers.get('allow')).toBe('DELETE, GET, HEAD');

    const follows = await h.call('PATCH', '/api/v1/follows', { token: alice.token, body: {} });
    expectProblem(follows, 405);
    expect(follows.headers.get('allow')).toBe('GET, HEAD, POST');

    // Paths outside /api/v1 too: incoming hooks, feeds, health.
    const hook = await h.call('GET', '/hooks/th_anything', { token: null });
    expectProblem(hook, 405);
    expect(hook.headers.get('allow')).toBe('POST');
    const health = await h.call('DELETE', '/healthz', { token: null });
    expectProblem(health, 405);
    expect(health.headers.get('allow')).toMatch(/\bGET\b/);
    const type = await h.call('DELETE', '/problems/method_not_allowed', { token: null });
    expect(type.status).toBe(405);
    const doc = await h.call('GET', '/problems/method_not_allowed', { token: null });
    expect(doc.status).toBe(200);
    expect(doc.text).toMatch(/Allow header/);
  });

  it('an unknown path stays a 404, and the API still asks for a token first', async () => {
    expectProblem(await h.call('PUT', '/api/v1/nothing-here', { token: alice.token, body: {} }), 404);
    expectProblem(await h.call('PUT', '/nothing-here', { token: null }), 404);
    expectProblem(await h.call('PUT', '/api/v1/statuses', { token: null, body: {} }), 401);
  });
});

describe('HTTP errors carry the sentence, not the chat usage', () => {
  it('no "Try: <chat command>" in a problem detail', async () => {
    const unknown = await h.call('POST', '/api/v1/follows', { token: alice.token, body: { target: '@nobody' } });
    expectProblem(unknown, 404, /@nobody is not a known handle\.$/);
    expect(unknown.body.detail).not.toMatch(/Try:/);

    const self = await h.call('POST', '/api/v1/follows', { token: alice.token, body: { target: '@alice' } });
    expectProblem(self, 422, /^You cannot follow yourself\.$/);

    const tag = await h.call('POST', '/api/v1/follows', { token: alice.token, body: { target: '#no tag' } });
    expect(tag.status).toBeGreaterThanOrEqual(400);
    expect(tag.body.detail).not.toMatch(/Try:/);

    const feed = await h.call('GET', '/feeds/nobody.atom', { token: null });
    expect(feed.status).toBe(404);
    expect(feed.body.detail).not.toMatch(/Try:/);
  });

  it('a hook keeps working through all of this (form, text)', async () => {
    await createService(h.t.ctx, { handle: 'build', name: 'Build' });
    const url = await createHookUrl(h.t.ctx, await requireSource(h.t.ctx, 'build'));
    const r = await h.call('POST', new URL(url).pathname, { token: null, raw: 'deploy done', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(201);
    expect(r.body.text).toBe('deploy done');
  });
});
