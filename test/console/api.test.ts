import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantAdmin, revokeAdmin } from '../../src/app/admins.js';
import { executeCommand } from '../../src/app/commands/execute.js';
import { getSourceByHandle } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { consumeSignInLink, createSignInLink, endSession, peekSignInLink, sessionFor } from '../../src/app/sessions.js';
import { createApiToken, createHookUrl } from '../../src/app/tokens.js';
import { parseCommand } from '../../src/core/commands/parse.js';
import { runCli } from '../../src/cli.js';
import { expectProblem, startHarness, type Harness } from '../http/harness.js';

/** The console's data and API parts without a browser: directory, tokens, sign-in links, sessions, admins, chat words. */
let h: Harness;
let alice: Awaited<ReturnType<Harness['person']>>;
let bob: Awaited<ReturnType<Harness['person']>>;

beforeAll(async () => {
  h = await startHarness({ env: { ADMIN_HANDLES: 'root' } });
  alice = await h.person('alice');
  bob = await h.person('bob');
  await h.person('root');
  await createService(h.t.ctx, { handle: 'build', name: 'Build pipeline', owners: ['alice'] });
  await createService(h.t.ctx, { handle: 'payroll', name: 'Payroll runs', visibility: 'protected', owners: ['bob'] });
  await createService(h.t.ctx, { handle: '100_percent', name: 'Odd % name' });
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/v1/sources (the directory)', () => {
  it('lists every source, protected ones with their visibility, matched by handle and name, cursor paginated', async () => {
    const all = await h.call('GET', '/api/v1/sources', { token: bob.token });
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: { handle: string }) => i.handle)).toEqual(['100_percent', 'alice', 'bob', 'build', 'payroll', 'root']);
    expect(all.body.items.find((i: { handle: string }) => i.handle === 'payroll')).toMatchObject({ kind: 'service', visibility: 'protected', name: 'Payroll runs', url: 'http://127.0.0.1:3000/@payroll' });
    const byName = await h.call('GET', '/api/v1/sources?q=PIPELINE', { token: bob.token });
    expect(byName.body.items.map((i: { handle: string }) => i.handle)).toEqual(['build']);
    const twoWords = await h.call('GET', '/api/v1/sources?q=payroll%20runs', { token: bob.token });
    expect(twoWords.body.items.map((i: { handle: string }) => i.handle)).toEqual(['payroll']);
    // LIKE wildcards are literal.
    const pct = await h.call('GET', '/api/v1/sources?q=%25', { token: bob.token });
    expect(pct.body.items.map((i: { handle: string }) => i.handle)).toEqual(['100_percent']);
    const services = await h.call('GET', '/api/v1/sources?kind=service&limit=2', { token: bob.token });
    expect(services.body.items.map((i: { handle: string }) => i.handle)).toEqual(['100_percent', 'build']);
    expect(services.body.next).toBe('build');
    const page2 = await h.call('GET', `/api/v1/sources?kind=service&limit=2&before=${services.body.next}`, { token: bob.token });
    expect(page2.body).toMatchObject({ items: [{ handle: 'payroll' }], next: null });
    expectProblem(await h.call('GET', '/api/v1/sources?kind=robot', { token: bob.token }), 400, /person.*service/);
    expectProblem(await h.call('GET', '/api/v1/sources', { token: null }), 401);
  });

  it("shows the token owner's follow state", async () => {
    expect((await h.call('POST', '/api/v1/follows', { token: bob.token, body: { target: '@build' } })).status).toBe(201);
    const r = await h.call('GET', '/api/v1/sources?q=build', { token: bob.token });
    expect(r.body.items[0]).toMatchObject({ handle: 'build', following: 'active' });
  });
});

describe('GET and DELETE /api/v1/tokens', () => {
  it('lists my tokens and my services\' (never a secret), with last use; revoking one ends it', async () => {
    const hook = await createHookUrl(h.t.ctx, (await getSourceByHandle(h.t.ctx, 'build'))!);
    const second = await createApiToken(h.t.ctx, alice.row.id, alice.row.id);
    const r = await h.call('GET', '/api/v1/tokens', { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(alice.token);
    expect(r.text).not.toContain(second);
    expect(r.text).not.toContain(hook.split('/').pop());
    const subjects = r.body.items.map((t: { subject: string; kind: string }) => `${t.kind} ${t.subject}`).sort();
    expect(subjects).toEqual(['api @alice', 'api @alice', 'hook @build']);
    const mine = r.body.items.find((t: { last_used_at: string | null }) => t.last_used_at !== null);
    expect(mine).toBeTruthy();
    // Bob sees none of Alice's; he cannot revoke one.
    const bobs = await h.call('GET', '/api/v1/tokens', { token: bob.token });
    expect(bobs.body.items.every((t: { subject: string }) => t.subject === '@bob')).toBe(true);
    const target = r.body.items.find((t: { id: string; kind: string; last_used_at: string | null }) => t.kind === 'api' && t.last_used_at === null);
    expectProblem(await h.call('DELETE', `/api/v1/tokens/${target.id}`, { token: bob.token }), 403);
    const del = await h.call('DELETE', `/api/v1/tokens/${target.id}`, { token: alice.token });
    expect(del.status).toBe(204);
    expectProblem(await h.call('GET', '/api/v1/timeline', { token: second }), 401);
    expectProblem(await h.call('DELETE', `/api/v1/tokens/${target.id}`, { token: alice.token }), 404);
  });
});

describe('sign-in links and sessions', () => {
  it('a link is peeked without being used, consumed once, and expires after 10 minutes', async () => {
    const { url } = await createSignInLink(h.t.ctx, alice.row);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:3000\/sign-in\/[A-Za-z0-9_-]{43}$/);
    const token = url.split('/').pop()!;
    expect((await peekSignInLink(h.t.ctx, token))?.handle).toBe('alice');
    expect((await peekSignInLink(h.t.ctx, token))?.handle).toBe('alice');
    const { session, person } = await consumeSignInLink(h.t.ctx, token);
    expect(person.handle).toBe('alice');
    await expect(consumeSignInLink(h.t.ctx, token)).rejects.toThrow(/used or expired/);
    expect(await peekSignInLink(h.t.ctx, token)).toBeNull();
    const s = await sessionFor(h.t.ctx, session);
    expect(s?.person.handle).toBe('alice');
    await endSession(h.t.ctx, s!.id);
    expect(await sessionFor(h.t.ctx, session)).toBeNull();

    const late = (await createSignInLink(h.t.ctx, alice.row)).url.split('/').pop()!;
    h.t.clock.advance(10 * 60_000 + 1);
    expect(await peekSignInLink(h.t.ctx, late)).toBeNull();
    await expect(consumeSignInLink(h.t.ctx, late)).rejects.toThrow(/used or expired/);
  });

  it('a session ends after 7 days idle, and lives on while used', async () => {
    const token = (await createSignInLink(h.t.ctx, bob.row)).url.split('/').pop()!;
    const { session } = await consumeSignInLink(h.t.ctx, token);
    h.t.clock.advance(6 * 24 * 3600_000);
    expect(await sessionFor(h.t.ctx, session)).not.toBeNull();
    h.t.clock.advance(6 * 24 * 3600_000);
    expect(await sessionFor(h.t.ctx, session)).not.toBeNull();
    h.t.clock.advance(7 * 24 * 3600_000 + 1000);
    expect(await sessionFor(h.t.ctx, session)).toBeNull();
  });
});

describe('administrators', () => {
  it('ADMIN_HANDLES makes a person an admin everywhere and cannot be revoked; grant and revoke are recorded', async () => {
    const root = (await getSourceByHandle(h.t.ctx, 'root'))!;
    const rootToken = await createApiToken(h.t.ctx, root.id);
    expect((await h.call('POST', '/api/v1/people', { token: rootToken, body: { handle: 'carol', name: 'Carol', email: 'carol@corp.example' } })).status).toBe(201);
    await expect(revokeAdmin(h.t.ctx, '@root', null, 'cli')).rejects.toThrow(/ADMIN_HANDLES/);

    expectProblem(await h.call('POST', '/api/v1/digests/send', { token: bob.token }), 403);
    expect((await grantAdmin(h.t.ctx, '@bob', null, 'cli')).changed).toBe(true);
    expect((await grantAdmin(h.t.ctx, '@bob', null, 'cli')).changed).toBe(false);
    expect((await h.call('POST', '/api/v1/digests/send', { token: bob.token })).status).toBe(200);
    expect((await revokeAdmin(h.t.ctx, '@bob', null, 'cli')).changed).toBe(true);
    expectProblem(await h.call('POST', '/api/v1/digests/send', { token: bob.token }), 403);
    await expect(grantAdmin(h.t.ctx, '@build', null, 'cli')).rejects.toThrow(/service/);

    const audit = await h.call('GET', '/api/v1/audit?subject=@bob');
    const actions = audit.body.items.map((i: { action: string }) => i.action);
    expect(actions).toContain('admin_grant');
    expect(actions).toContain('admin_revoke');
  });

  it('npx twitterprise admin grant|revoke, with the refusal for a listed handle as a sentence', async () => {
    const env = { DATABASE_URL: h.t.database.url, LOG_LEVEL: 'silent', ADMIN_HANDLES: 'root' };
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string) => (chunks.push(String(c)), true)) as typeof process.stdout.write;
    try {
      expect(await runCli(['admin', 'grant', '@alice'], env)).toBe(0);
      expect(await runCli(['admin', 'revoke', '@alice'], env)).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(chunks.join('')).toContain('@alice is now an administrator.');
    expect(chunks.join('')).toContain('@alice is no longer an administrator.');
    await expect(runCli(['admin', 'revoke', '@root'], env)).rejects.toThrow(/@root is listed in ADMIN_HANDLES, which always wins/);
  });
});

describe('chat: web, find, services', () => {
  it('parses in the one grammar; "web is down again" and "services are slow" are statuses', () => {
    expect(parseCommand('web')).toEqual({ name: 'web' });
    expect(parseCommand('WEB is down again')).toEqual({ name: 'post', text: 'WEB is down again' });
    expect(parseCommand('services')).toEqual({ name: 'services' });
    expect(parseCommand('services are slow today')).toMatchObject({ name: 'post' });
    expect(parseCommand('find Build  pipeline')).toEqual({ name: 'find', words: ['build', 'pipeline'] });
    expect(() => parseCommand('find')).toThrow(/needs words/);
  });

  it('answers with the directory, and "web" with a private one-time link and no link preview', async () => {
    const find = await executeCommand(h.t.ctx, { actor: bob.row, platform: 'slack', text: 'find build' });
    expect(find.text).toContain('@build: Build pipeline (service, you follow)');
    const none = await executeCommand(h.t.ctx, { actor: bob.row, platform: 'slack', text: 'find zzz' });
    expect(none.text).toMatch(/Nobody and no service matches "zzz"/);
    const services = await executeCommand(h.t.ctx, { actor: alice.row, platform: 'teams', text: 'services' });
    expect(services.lines).toEqual(['@100_percent: Odd % name (service)', '@build: Build pipeline (service)', '@payroll: Payroll runs (service, protected)']);
    const web = await executeCommand(h.t.ctx, { actor: alice.row, platform: 'slack', text: 'web' });
    expect(web.noPreview).toBe(true);
    expect(web.text).toMatch(/works once, within 10 minutes\.\nhttp:\/\/127\.0\.0\.1:3000\/sign-in\/[A-Za-z0-9_-]{43}$/);
  });
});
