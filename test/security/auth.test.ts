import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../src/app/services.js';
import { createApiToken, createHookUrl, hashToken, revokeToken } from '../../src/app/tokens.js';
import { requireSource } from '../../src/app/people.js';
import { sources, tokens } from '../../src/db/schema.js';
import { expectProblem, startHarness, type Harness } from '../http/harness.js';

/**
 * Every /api/v1 endpoint, with a plausible body: none of them may answer anything but a 401 problem
 * without a valid credential, whatever the method, and before any handler looks at the body.
 */
const ENDPOINTS: [method: string, path: string, body?: unknown][] = [
  ['POST', '/api/v1/statuses', { text: 'hello' }],
  ['GET', '/api/v1/statuses/0190a0a0-0000-7000-8000-000000000000'],
  ['DELETE', '/api/v1/statuses/0190a0a0-0000-7000-8000-000000000000'],
  ['GET', '/api/v1/sources/alice/statuses'],
  ['GET', '/api/v1/timeline'],
  ['POST', '/api/v1/follows', { target: '@alice' }],
  ['GET', '/api/v1/follows'],
  ['DELETE', '/api/v1/follows/x'],
  ['GET', '/api/v1/follow-requests'],
  ['POST', '/api/v1/follows/x/approve'],
  ['POST', '/api/v1/follows/x/deny'],
  ['POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x' }],
  ['GET', '/api/v1/webhooks'],
  ['GET', '/api/v1/webhooks/x'],
  ['PATCH', '/api/v1/webhooks/x', { enabled: false }],
  ['DELETE', '/api/v1/webhooks/x'],
  ['GET', '/api/v1/webhooks/x/deliveries'],
  ['POST', '/api/v1/webhooks/x/test'],
  ['POST', '/api/v1/deliveries/x/redeliver'],
  ['POST', '/api/v1/people', { handle: 'eve', name: 'Eve', email: 'eve@corp.example' }],
  ['POST', '/api/v1/services', { handle: 'evil', name: 'Evil' }],
  ['PATCH', '/api/v1/services/build', { name: 'Hijacked' }],
  ['POST', '/api/v1/tokens', { subject: '@alice' }],
  ['POST', '/api/v1/services/build/hooks'],
  ['POST', '/api/v1/digests/send'],
  ['GET', '/api/v1/audit'],
  // An unknown path under /api/v1 must not reveal that it is unknown before authentication.
  ['GET', '/api/v1/no-such-thing'],
];

let h: Harness;
let alice: { row: { id: string }; token: string };
let bob: { row: { id: string }; token: string };
/** Credentials that must all be refused: [label, Authorization header or null for none]. */
let bad: [string, string | null][];

beforeAll(async () => {
  h = await startHarness();
  alice = await h.person('alice');
  bob = await h.person('bob');
  await createService(h.t.ctx, { handle: 'build', name: 'Build server', owners: ['alice'] });

  const revoked = await createApiToken(h.t.ctx, bob.row.id);
  const [row] = await h.t.database.db.select().from(tokens).where(eq(tokens.hash, hashToken(revoked)));
  await revokeToken(h.t.ctx, row!.id);
  const expired = await createApiToken(h.t.ctx, bob.row.id, null, new Date(h.t.clock.now().getTime() - 1000));
  // A hook URL's token authorises POST /hooks/:token only; it is not an API credential.
  const hookUrl = await createHookUrl(h.t.ctx, await requireSource(h.t.ctx, 'build'));
  const hookToken = hookUrl.split('/hooks/')[1]!;
  // A token whose person has been removed (its row cascades away).
  const ghost = await h.person('ghost');
  await h.t.database.db.delete(sources).where(eq(sources.id, ghost.row.id));

  bad = [
    ['missing', null],
    ['empty bearer', 'Bearer '],
    ['wrong token', 'Bearer tp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['not a token', 'Bearer hello'],
    ['basic scheme', `Basic ${Buffer.from(`alice:${alice.token}`).toString('base64')}`],
    ['token without scheme', alice.token],
    ['two tokens', `Bearer ${alice.token} ${bob.token}`],
    ['revoked', `Bearer ${revoked}`],
    ['expired', `Bearer ${expired}`],
    ['hook token as bearer', `Bearer ${hookToken}`],
    ['removed person', `Bearer ${ghost.token}`],
    ['admin token with a suffix', `Bearer admin-token-for-http-tests-0123456789x`],
    ['admin token prefix', `Bearer admin-token-for-http-tests`],
    ['token with a suffix', `Bearer ${alice.token}x`],
    ['token in other case', `Bearer ${alice.token.toUpperCase()}`],
  ];
});
afterAll(() => h?.close());

describe('every /api/v1 endpoint refuses a missing, wrong, revoked or expired credential', () => {
  it('answers 401 problem+json with WWW-Authenticate: Bearer for each endpoint and bad credential', async () => {
    let checked = 0;
    for (const [method, path, body] of ENDPOINTS) {
      for (const [label, auth] of bad) {
        const headers: Record<string, string> = {};
        if (auth !== null) headers.authorization = auth;
        const r = await h.call(method, path, { token: null, headers, body });
        expect(r.status, `${method} ${path} with ${label}: ${r.text}`).toBe(401);
        expectProblem(r, 401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
        checked++;
      }
    }
    expect(checked).toBe(ENDPOINTS.length * bad.length);
    // Nothing was written by any of those calls.
    expect(await h.t.database.db.select().from(sources).where(eq(sources.handle, 'eve'))).toHaveLength(0);
    expect(await h.t.database.db.select().from(sources).where(eq(sources.handle, 'evil'))).toHaveLength(0);
    expect((await requireSource(h.t.ctx, 'build')).name).toBe('Build server');
  });

  it('a valid token still works on the same endpoints (the refusals above are about the credential)', async () => {
    expect((await h.call('GET', '/api/v1/timeline', { token: alice.token })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/follows', { token: bob.token })).status).toBe(200);
    expect((await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'still here' } })).status).toBe(201);
  });

  it('admin endpoints answer 403 to a valid non-admin token', async () => {
    for (const [method, path, body] of [
      ['POST', '/api/v1/people', { handle: 'eve', name: 'Eve', email: 'eve@corp.example' }],
      ['POST', '/api/v1/services', { handle: 'evil', name: 'Evil' }],
      ['PATCH', '/api/v1/services/build', { name: 'Hijacked' }],
      ['POST', '/api/v1/digests/send'],
      ['GET', '/api/v1/audit'],
    ] as [string, string, unknown?][]) {
      expectProblem(await h.call(method, path, { token: alice.token, body }), 403);
    }
    // Alice owns @build but is no admin: she may not mint a token for Bob.
    expectProblem(await h.call('POST', '/api/v1/tokens', { token: alice.token, body: { subject: '@bob' } }), 403);
    expect((await requireSource(h.t.ctx, 'build')).name).toBe('Build server');
  });
});
