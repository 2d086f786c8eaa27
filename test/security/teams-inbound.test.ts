import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { findIdentity } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { tokens } from '../../src/db/schema.js';
import { NOT_PRIVATE } from '../../src/integrations/teams/bot.js';
import { REFUSAL_LINES_PER_MINUTE, refusalLogger } from '../../src/integrations/teams/inbound.js';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { FakeBotFrameworkTokens, fixedCredentialsFactory } from '../fakes/bot-framework-tokens.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { channelMessage, groupChatMessage, postActivity, startTeamsApp, teamsUser, TENANT, type TeamsApp } from '../integrations/teams/helpers.js';

/**
 * Classes 2, 4 and 5 of docs/security.md, through real POST /api/messages requests with authentication
 * ON: tokens are RS256 JWTs checked by botbuilder against a fake OpenID issuer on 127.0.0.1.
 */
const APP_ID = '5b8a3c2e-1f4d-4e6a-9b7c-0d1e2f3a4b5c';

let t: TestContext;
let connector: FakeBotConnector;
let issuer: FakeBotFrameworkTokens;
let app: TeamsApp;
const lines: { level: number; msg: string; name?: string; err?: unknown; reason?: string }[] = [];
let consoleError: ReturnType<typeof vi.spyOn>;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const valid = () => bearer(issuer.token(connector.serviceUrl));
const forged = () => bearer(issuer.token(connector.serviceUrl, { forged: true }));

async function postRaw(body: string, headers: Record<string, string>): Promise<{ status: number; type: string | null; json: Record<string, unknown> | null }> {
  const res = await fetch(`${app.baseUrl}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: res.status, type: res.headers.get('content-type'), json };
}

const teamsLines = () => lines.filter((l) => l.name === 'teams' && l.level >= 40);
const replies = (conversationId: string) => connector.messages(conversationId).map((m) => String(m.activity.text ?? ''));

beforeAll(async () => {
  t = await createTestContext({ MICROSOFT_APP_ID: APP_ID, MICROSOFT_APP_PASSWORD: 'not-a-real-secret', MICROSOFT_APP_TYPE: 'MultiTenant' });
  connector = await FakeBotConnector.start();
  issuer = await new FakeBotFrameworkTokens(APP_ID).start();
  // Before the integration starts: what botbuilder prints reaches this spy only if nothing intercepted it.
  consoleError = vi.spyOn(console, 'error');
  const sink = new Writable({ write: (chunk, _enc, done) => void (lines.push(JSON.parse(String(chunk))), done()) });
  app = await startTeamsApp({ ...t.ctx, log: pino({ level: 'info' }, sink) }, { auth: { openIdMetadataUrl: issuer.metadataUrl, credentialsFactory: fixedCredentialsFactory(APP_ID) } });
  await createService(t.ctx, { handle: 'build', name: 'Build server' });
});

afterAll(async () => {
  await app?.close();
  consoleError?.mockRestore();
  await issuer?.stop();
  await connector?.close();
  await t?.drop();
});

beforeEach(() => {
  lines.length = 0;
  connector.reset();
  consoleError.mockClear();
});
afterEach(() => {
  // botbuilder prints every refused token with console.error (stack and keys): none of it gets out.
  expect(consoleError).not.toHaveBeenCalled();
});

describe('class 5: forged Bot Framework tokens', () => {
  it('answer 401 problem+json with one warning line and no stack', async () => {
    const user = teamsUser(connector, 'Mallory', 'mallory@example.com');
    const activity = groupChatMessage({ serviceUrl: connector.serviceUrl, from: user, chatId: '19:c1@thread.v2', mentionBot: true, text: 'token' });
    for (const headers of [forged(), bearer('not.a.jwt'), bearer(issuer.token(connector.serviceUrl, { claims: { aud: 'someone-else' } })), bearer(issuer.token(connector.serviceUrl, { claims: { exp: 1 } }))]) {
      lines.length = 0;
      const r = await postRaw(JSON.stringify(activity), headers);
      expect(r.status).toBe(401);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.json).toMatchObject({ status: 401, title: 'Authentication required' });
      const warned = teamsLines();
      expect(warned).toHaveLength(1);
      expect(warned[0]!.msg).toMatch(/token we do not accept refused/);
      expect(JSON.stringify(warned[0])).not.toMatch(/\n\s+at /);
    }
    expect(connector.requests).toHaveLength(0);
  });

  it('a valid token for another serviceUrl is refused too (the serviceurl claim)', async () => {
    const user = teamsUser(connector, 'Mallory', 'mallory2@example.com');
    const activity = groupChatMessage({ serviceUrl: connector.serviceUrl, from: user, chatId: '19:c2@thread.v2', mentionBot: true, text: 'help' });
    const r = await postRaw(JSON.stringify(activity), bearer(issuer.token('https://smba.trafficmanager.net/emea/')));
    expect(r.status).toBe(401);
    expect(connector.requests).toHaveLength(0);
  });

  it('a flood is logged at most ten lines a minute, then counted', async () => {
    const body = JSON.stringify({ type: 'message' });
    for (let i = 0; i < REFUSAL_LINES_PER_MINUTE + 15; i++) expect((await postRaw(body, forged())).status).toBe(401);
    expect(teamsLines().length).toBeLessThanOrEqual(REFUSAL_LINES_PER_MINUTE);

    // The limiter itself, on a clock we move: the suppressed count is said once the next minute starts.
    const said: string[] = [];
    const fake = { warn: (_f: unknown, msg: string) => void said.push(msg) } as unknown as Parameters<typeof refusalLogger>[0];
    let now = 0;
    const refuse = refusalLogger(fake, 3, () => now);
    for (let i = 0; i < 8; i++) refuse({}, 'refused');
    expect(said).toEqual(['refused', 'refused', 'refused']);
    now = 60_000;
    refuse({}, 'refused');
    expect(said.slice(3)).toEqual(['5 more refused Teams requests were not logged in the last minute', 'refused']);
  });
});

describe('class 4: malformed activities with an Authorization header', () => {
  const bodies = ['{}', '{"type":5}', '{"type":null}', '[]', '"x"', 'null', '{"type":"message","serviceUrl":5}', '{"type":', 'not json'];

  it.each(bodies)('%s with a forged token: 401 (the token is checked first)', async (body) => {
    const r = await postRaw(body, forged());
    expect(r.status).toBe(401);
    expect(r.type).toMatch(/^application\/problem\+json/);
  });

  it.each(bodies)('%s with a valid token: 400 problem+json, never 500', async (body) => {
    const r = await postRaw(body, valid());
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.json).toMatchObject({ status: 400, title: 'Invalid request' });
    expect(String(r.json?.detail)).toMatch(/Not a Bot Framework activity/);
  });

  it('a well-formed activity with a valid token is run (authentication really is on and passes)', async () => {
    const user = teamsUser(connector, 'Val Id', 'val@example.com');
    const r = await postActivity(app.baseUrl, groupChatMessage({ serviceUrl: connector.serviceUrl, from: user, chatId: '19:ok@thread.v2', mentionBot: true, text: 'help' }), valid());
    expect(r.status).toBe(200);
    expect(replies('19:ok@thread.v2').join('\n')).toMatch(/follow/i);
    expect(connector.requests.some((q) => q.headers.authorization === 'Bearer fake-outbound-token')).toBe(true);
  });
});

describe('class 2: a token is never shown in a channel', () => {
  const where = { teamId: '19:team-sec@thread.tacv2', channelId: '19:general-sec@thread.tacv2' };

  it.each(['\u0085token', 'to\u0001ken', '\u001btoken', 'tok\u0000en', '\u0000token', 'token\u0085', '\u200btoken'])(
    'a control character around or inside the word (%j) is still the token command: refused here',
    async (text) => {
      const user = teamsUser(connector, 'Tess Token', `tess${Math.random().toString(36).slice(2)}@example.com`);
      const activity = channelMessage({ serviceUrl: connector.serviceUrl, from: user, ...where, mentionBot: true, text });
      const r = await postActivity(app.baseUrl, activity, valid());
      expect(r.status).toBe(200);
      const thread = (activity.conversation as { id: string }).id;
      expect(replies(thread)).toEqual(['For your safety, ask me for a token in our personal chat, not here.']);
      const person = (await findIdentity(t.ctx, 'teams', TENANT, user.aadObjectId))?.person;
      if (person) expect(await t.database.db.select().from(tokens).where(eq(tokens.sourceId, person.id))).toHaveLength(0);
      expect(JSON.stringify(connector.requests.map((q) => q.body))).not.toMatch(/tp_[A-Za-z0-9]/);
    },
  );

  it('a private answer the 1:1 chat cannot take is not posted in the thread: the thread hears only that', async () => {
    const user = teamsUser(connector, 'Pia Private', 'pia@example.com');
    // Teams refuses to create the personal chat (the app is not installed for her).
    connector.failNext({ method: 'POST', path: /^\/v3\/conversations$/, status: 403, times: 5 });
    const activity = channelMessage({ serviceUrl: connector.serviceUrl, from: user, ...where, mentionBot: true, text: 'whois @build' });
    const r = await postActivity(app.baseUrl, activity, valid());
    expect(r.status).toBe(200);
    const thread = (activity.conversation as { id: string }).id;
    expect(replies(thread)).toEqual([NOT_PRIVATE]);
    expect(NOT_PRIVATE).toMatch(/^I could not message you privately: open a chat with me/);
    expect(JSON.stringify(connector.requests.map((q) => q.body))).not.toMatch(/Build server/);
  });
});
