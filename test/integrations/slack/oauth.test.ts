import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackInstallations } from '../../../src/db/schema.js';
import { SLACK_BOT_SCOPES } from '../../../src/integrations/slack/scopes.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { eventCallback, sendEvent, SIGNING_SECRET, startSlackHarness, type SlackHarness } from './helpers.js';

let fake: FakeSlackApi;
let t: TestContext;
let h: SlackHarness;

const channel = { channelId: 'c', platform: 'slack' as const, externalId: 'CNEWS', data: {} };
const notice = { kind: 'notice' as const, text: 'hello' };

beforeAll(async () => {
  fake = await startFakeSlackApi();
  t = await createTestContext({
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_CLIENT_ID: '1111.2222',
    SLACK_CLIENT_SECRET: 'client-secret',
    SLACK_STATE_SECRET: 'state-secret-for-tests',
    SLACK_API_URL: fake.apiUrl,
  });
  h = await startSlackHarness(t.ctx, {});
  fake.addUser({ id: 'U2', name: 'lee', real_name: 'Lee', profile: { email: 'lee@two.example' } });
});

afterAll(async () => {
  await h?.close();
  await fake?.stop();
  await t?.drop();
});

describe('multi-workspace install (OAuth)', () => {
  it('installs a workspace through /slack/install and /slack/oauth_redirect and keeps the installation in the database', async () => {
    const install = await fetch(`${h.baseUrl}/slack/install`, { redirect: 'manual' });
    expect(install.status).toBe(302);
    const location = new URL(install.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://slack.com/oauth/v2/authorize');
    expect(location.searchParams.get('client_id')).toBe('1111.2222');
    expect(location.searchParams.get('scope')!.split(',').sort()).toEqual([...SLACK_BOT_SCOPES].sort());
    expect(location.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:3000/slack/oauth_redirect');
    const state = location.searchParams.get('state')!;
    const cookie = install.headers.get('set-cookie')!.split(';')[0]!;

    fake.oauthAccess = {
      ok: true,
      app_id: 'A0TP',
      authed_user: { id: 'U2' },
      scope: SLACK_BOT_SCOPES.join(','),
      token_type: 'bot',
      access_token: 'xoxb-two',
      bot_user_id: 'UBOT2',
      team: { id: 'T2', name: 'Two' },
      enterprise: null,
      is_enterprise_install: false,
    };
    fake.bot = { userId: 'UBOT2', botId: 'BBOT2', teamId: 'T2', team: 'Two' };
    const callback = await fetch(`${h.baseUrl}/slack/oauth_redirect?code=the-code&state=${encodeURIComponent(state)}`, { headers: { cookie }, redirect: 'manual' });
    expect(callback.status).toBe(200);
    expect(fake.callsOf('oauth.v2.access')[0]!.params).toMatchObject({ code: 'the-code', client_id: '1111.2222' });

    const rows = await t.database.db.select().from(slackInstallations).where(eq(slackInstallations.id, 'T:T2'));
    expect(rows).toHaveLength(1);
    expect((rows[0]!.data.bot as { token: string }).token).toBe('xoxb-two');
  });

  it('refuses a callback whose state was not issued by this app', async () => {
    const before = fake.callsOf('oauth.v2.access').length;
    const res = await fetch(`${h.baseUrl}/slack/oauth_redirect?code=x&state=forged`, { redirect: 'manual' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(fake.callsOf('oauth.v2.access')).toHaveLength(before);
  });

  it("answers events from the workspace with that workspace's token", async () => {
    await sendEvent(h.baseUrl, eventCallback({ type: 'app_home_opened', user: 'U2', channel: 'D2', tab: 'home' }, { teamId: 'T2', botUserId: 'UBOT2' }));
    const info = await fake.waitForCall('users.info', (c) => c.params.user === 'U2');
    expect(info.token).toBe('xoxb-two');
    const publish = await fake.waitForCall('views.publish', (c) => c.params.user_id === 'U2');
    expect(publish.token).toBe('xoxb-two');
  });

  it('delivers with the installation token, and skips workspaces without one', async () => {
    const messenger = h.integration.messenger!;
    expect((await messenger.sendToChannel({ ...channel, tenant: 'T2' }, notice)).kind).toBe('sent');
    expect(fake.callsOf('chat.postMessage').at(-1)!.token).toBe('xoxb-two');
    expect(await messenger.sendToChannel({ ...channel, tenant: 'T9' }, notice)).toMatchObject({ kind: 'skip' });
  });

  it('forgets the installation when the workspace uninstalls the app', async () => {
    await sendEvent(h.baseUrl, eventCallback({ type: 'app_uninstalled' }, { teamId: 'T2', botUserId: 'UBOT2' }));
    const deadline = Date.now() + 5000;
    while ((await t.database.db.select().from(slackInstallations)).length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await t.database.db.select().from(slackInstallations)).toHaveLength(0);
    expect(await h.integration.messenger!.sendToChannel({ ...channel, tenant: 'T2' }, notice)).toMatchObject({ kind: 'skip' });
  });
});
