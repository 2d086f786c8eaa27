import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPerson, findIdentity, linkIdentity, mayActAs, requireSource } from '../../src/app/people.js';
import { createService, requireActAs } from '../../src/app/services.js';
import { authenticate, authenticateHook, createApiToken, createHookUrl, hashToken, revokeToken } from '../../src/app/tokens.js';
import { tokens } from '../../src/db/schema.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext({ ADMIN_TOKEN: 'admin-token-0123456789' });
});
afterAll(() => t.drop());

describe('people and identities', () => {
  it('makes a handle from the email local part, numbered on a clash', async () => {
    const a = await createPerson(t.ctx, { name: 'Jane Doe', email: 'Jane.Doe@x.com' });
    const b = await createPerson(t.ctx, { name: 'Jane Doe', email: 'jane.doe@y.com' });
    expect(a.handle).toBe('jane-doe');
    expect(b.handle).toBe('jane-doe2');
    expect(a.email).toBe('jane.doe@x.com');
  });

  it('links a Slack user and a Teams user with the same email to one person', async () => {
    const s = await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'U1', email: 'Sam@corp.com', name: 'Sam', timezone: 'Europe/Berlin' });
    const m = await linkIdentity(t.ctx, { platform: 'teams', tenant: 'tenant-1', externalId: 'aad-1', email: 'sam@corp.com', name: 'Sam S' });
    expect(m.id).toBe(s.id);
    expect(s.handle).toBe('sam');
    expect(s.timezone).toBe('Europe/Berlin');
    expect(m.lastPlatform).toBe('teams');
    const again = await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'U1', name: 'Sam', data: { dmChannel: 'D1' } });
    expect(again.id).toBe(s.id);
    expect(again.lastPlatform).toBe('slack');
    const found = await findIdentity(t.ctx, 'slack', 'T1', 'U1');
    expect(found?.identity.data).toEqual({ dmChannel: 'D1' });
  });

  it('two first messages at once from a new user create one person', async () => {
    const input = { platform: 'slack' as const, tenant: 'T1', externalId: 'U-race', email: 'race@corp.com', name: 'Race' };
    const [a, b] = await Promise.all([linkIdentity(t.ctx, input), linkIdentity(t.ctx, input)]);
    expect(a.id).toBe(b.id);
  });

  it('an unknown handle says what to try', async () => {
    await expect(requireSource(t.ctx, '@nobody')).rejects.toMatchObject({ code: 'not_found', message: '@nobody is not a known handle.', usage: 'whois @handle' });
  });
});

describe('services and tokens', () => {
  it('only owners or admins act as a service', async () => {
    const owner = await createPerson(t.ctx, { name: 'Olga', email: 'olga@corp.com' });
    const other = await createPerson(t.ctx, { name: 'Otto', email: 'otto@corp.com' });
    const svc = await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['olga'] });
    expect(svc).toEqual({ handle: 'build', name: 'Build server', kind: 'service', visibility: 'public', owners: ['olga'] });
    const row = await requireSource(t.ctx, '@build');
    await expect(requireActAs(t.ctx, { id: owner.id, isAdmin: false }, row)).resolves.toBeUndefined();
    await expect(requireActAs(t.ctx, { id: other.id, isAdmin: false }, row)).rejects.toMatchObject({ code: 'forbidden' });
    // The one "act as" check, for every caller: itself, an owner, an admin; nobody else, not even a nameless admin-less actor.
    const cases: [string, { id: string | null; isAdmin: boolean }, string, boolean][] = [
      ['owner of the service', { id: owner.id, isAdmin: false }, row.id, true],
      ['another person', { id: other.id, isAdmin: false }, row.id, false],
      ['the person itself', { id: other.id, isAdmin: false }, other.id, true],
      ['someone else for a person', { id: owner.id, isAdmin: false }, other.id, false],
      ['an admin', { id: other.id, isAdmin: true }, row.id, true],
      ['the admin token (no source)', { id: null, isAdmin: true }, row.id, true],
      ['no one', { id: null, isAdmin: false }, row.id, false],
    ];
    for (const [who, actor, sourceId, may] of cases) expect([who, await mayActAs(t.ctx.db, actor, sourceId)]).toEqual([who, may]);
  });

  it('stores only the hash of a token and refuses revoked, expired and unknown ones', async () => {
    const p = await requireSource(t.ctx, '@olga');
    const token = await createApiToken(t.ctx, p.id);
    expect(token).toMatch(/^tp_[A-Za-z0-9_-]{40,}$/);
    const stored = await t.database.db.select().from(tokens);
    expect(stored.some((r) => r.hash === hashToken(token))).toBe(true);
    expect(stored.some((r) => r.hash.includes(token) || token.includes(r.hash))).toBe(false);
    const who = await authenticate(t.ctx, token);
    expect(who.kind === 'source' && who.source.handle).toBe('olga');
    await revokeToken(t.ctx, who.tokenId);
    await expect(authenticate(t.ctx, token)).rejects.toMatchObject({ code: 'unauthenticated' });
    const expiring = await createApiToken(t.ctx, p.id, null, new Date(t.clock.now().getTime() + 1000));
    await expect(authenticate(t.ctx, expiring)).resolves.toMatchObject({ kind: 'source' });
    t.clock.advance(2000);
    await expect(authenticate(t.ctx, expiring)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(authenticate(t.ctx, 'tp_nope')).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(authenticate(t.ctx, undefined)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(authenticate(t.ctx, 'admin-token-0123456789')).resolves.toMatchObject({ kind: 'admin', isAdmin: true });
  });

  it('an incoming-hook URL authorises posting as its service only', async () => {
    const svc = await requireSource(t.ctx, '@build');
    const url = await createHookUrl(t.ctx, svc);
    const secret = url.split('/hooks/')[1]!;
    const { service } = await authenticateHook(t.ctx, secret);
    expect(service.handle).toBe('build');
    await expect(authenticateHook(t.ctx, 'th_wrong')).rejects.toMatchObject({ code: 'unauthenticated' });
    // An API token is not a hook token.
    const api = await createApiToken(t.ctx, svc.id);
    await expect(authenticateHook(t.ctx, api)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});

describe('where a person last spoke to the app', () => {
  it('a mere mention (touch: false) does not move their DMs to another platform', async () => {
    const p = await linkIdentity(t.ctx, { platform: 'teams', tenant: 'ten', externalId: 'aad-m', email: 'mia@corp.com', name: 'Mia' });
    expect(p.lastPlatform).toBe('teams');
    const mentioned = await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'U-mia', email: 'mia@corp.com', name: 'Mia', touch: false });
    expect(mentioned.id).toBe(p.id);
    expect(mentioned.lastPlatform).toBe('teams');
    const spoke = await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'U-mia', name: 'Mia' });
    expect(spoke.lastPlatform).toBe('slack');
  });
});
