import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { eventCallback, messageEvent, sendEvent, SIGNING_SECRET, startSlackHarness, type SlackHarness } from '../integrations/slack/helpers.js';

/**
 * Class 6 of docs/security.md (the install's end pages are ours, never Bolt's 500) and the log line
 * for requests from a workspace where the app is not installed (one warning, no stack).
 */
let fake: FakeSlackApi;
let t: TestContext;
let h: SlackHarness;
const lines: { level: number; msg: string; err?: { stack?: string } }[] = [];

beforeAll(async () => {
  fake = await startFakeSlackApi();
  t = await createTestContext({
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_CLIENT_ID: '1111.2222',
    SLACK_CLIENT_SECRET: 'client-secret',
    SLACK_STATE_SECRET: 'state-secret-for-tests',
    SLACK_API_URL: fake.apiUrl,
  });
  const sink = new Writable({ write: (chunk, _enc, done) => void (lines.push(JSON.parse(String(chunk))), done()) });
  h = await startSlackHarness({ ...t.ctx, log: pino({ level: 'info' }, sink) }, {});
});

afterAll(async () => {
  await h?.close();
  await fake?.stop();
  await t?.drop();
});

beforeEach(() => {
  lines.length = 0;
});

/** GET /slack/install, as a browser: the state cookie and the state Slack will send back. */
async function startInstall(): Promise<{ cookie: string; state: string }> {
  const install = await fetch(`${h.baseUrl}/slack/install`, { redirect: 'manual' });
  expect(install.status).toBe(302);
  const state = new URL(install.headers.get('location')!).searchParams.get('state')!;
  return { cookie: install.headers.get('set-cookie')!.split(';')[0]!, state };
}

async function page(res: Response): Promise<string> {
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  const html = await res.text();
  expect(html).toMatch(/^<!doctype html>/);
  return html;
}

describe('the Slack install ends on a page of ours', () => {
  it('Cancel in Slack (error=access_denied) is a page saying so with a link back, not a 500', async () => {
    const { cookie, state } = await startInstall();
    const res = await fetch(`${h.baseUrl}/slack/oauth_redirect?error=access_denied&state=${encodeURIComponent(state)}`, { headers: { cookie }, redirect: 'manual' });
    expect(res.status).toBe(200);
    const html = await page(res);
    expect(html).toContain('Installation cancelled');
    expect(html).toContain('href="http://127.0.0.1:3000/slack/install"');
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('a stale or foreign state is a 400 page with a link back', async () => {
    const res = await fetch(`${h.baseUrl}/slack/oauth_redirect?code=x&state=forged`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    const html = await page(res);
    expect(html).toContain('This installation link has expired');
    expect(html).toContain('/slack/install');
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('Slack refusing the code is a 502 page, not Bolt\'s', async () => {
    const { cookie, state } = await startInstall();
    fake.oauthAccess = null; // the fake answers invalid_code
    const res = await fetch(`${h.baseUrl}/slack/oauth_redirect?code=bad&state=${encodeURIComponent(state)}`, { headers: { cookie }, redirect: 'manual' });
    expect(res.status).toBe(502);
    expect(await page(res)).toContain('Installation failed');
  });

  it('a finished install says where it is installed, escaped', async () => {
    const { cookie, state } = await startInstall();
    fake.oauthAccess = {
      ok: true,
      app_id: 'A0TP',
      authed_user: { id: 'U9' },
      scope: 'commands,chat:write',
      token_type: 'bot',
      access_token: 'xoxb-nine',
      bot_user_id: 'UBOT9',
      team: { id: 'T9', name: 'Nine <script>' },
      enterprise: null,
      is_enterprise_install: false,
    };
    fake.bot = { userId: 'UBOT9', botId: 'BBOT9', teamId: 'T9', team: 'Nine' };
    const res = await fetch(`${h.baseUrl}/slack/oauth_redirect?code=good&state=${encodeURIComponent(state)}`, { headers: { cookie }, redirect: 'manual' });
    expect(res.status).toBe(200);
    const html = await page(res);
    expect(html).toContain('Twitterprise is installed');
    expect(html).toContain('Nine &lt;script&gt;');
    expect(html).not.toContain('<script>');
  });
});

describe('a request from a workspace where the app is not installed', () => {
  it('is ignored with one warning line and no stack', async () => {
    const r = await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U1', text: 'hello', channel: 'D1', channel_type: 'im' }), { teamId: 'TGONE' }));
    expect(r.status).toBe(200);
    const said = lines.filter((l) => l.level >= 40);
    expect(said).toHaveLength(1);
    expect(said[0]!.level).toBe(40);
    expect(said[0]!.msg).toMatch(/not installed: ignored/);
    expect(JSON.stringify(said[0])).not.toMatch(/\\n\s+at /);
    expect(said[0]!.err).toBeUndefined();
  });
});
