import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findIdentity, getSourceByHandle, type SourceRow } from '../../../src/app/people.js';
import { createPerson } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { channels, follows, statuses } from '../../../src/db/schema.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import {
  eventCallback,
  messageEvent,
  sendEvent,
  sendSlashCommand,
  slackEnv,
  startSlackHarness,
  TEAM_ID,
  type SlackHarness,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

let fake: FakeSlackApi;
let t: TestContext;
let h: SlackHarness;

beforeAll(async () => {
  fake = await startFakeSlackApi();
  t = await createTestContext(slackEnv(fake.apiUrl));
  // These tests read replies inside the ack: give commands the budget to answer there.
  h = await startSlackHarness(t.ctx, { botId: 'BBOT', botUserId: 'UBOT', ackBudgetMs: 2000 });
  fake.addUser({ id: 'U100', name: 'jane', real_name: 'Jane Doe', tz: 'Europe/Berlin', profile: { email: 'jane.doe@corp.com' } });
  fake.addUser({ id: 'U200', name: 'sam', real_name: 'Sam Smith', tz: 'America/New_York', profile: { email: 'sam@corp.com' } });
  fake.addUser({ id: 'UOPS', name: 'olga', real_name: 'Olga', profile: { email: 'olga@corp.com' } });
  await createPerson(t.ctx, { name: 'Olga', email: 'olga@corp.com' });
  await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['olga'] });
});

afterAll(async () => {
  await h?.close();
  await fake?.stop();
  await t?.drop();
});

const replyOf = (json: Record<string, unknown> | null) => String(json?.text ?? '');


describe('/tp', () => {
  it('acks with an ephemeral reply, and links the new user through users.info with their email', async () => {
    const res = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: 'help' });
    expect(res.status).toBe(200);
    expect(res.json?.response_type).toBe('ephemeral');
    expect(replyOf(res.json)).toMatch(/follow/i);
    // A list reply: the title once in bold, then the lines; the plain text carries both.
    const blocks = JSON.stringify(res.json?.blocks);
    expect(blocks.split('Twitterprise commands')).toHaveLength(2);
    expect(blocks).toContain('*Twitterprise commands*');
    expect(replyOf(res.json)).toContain('Twitterprise commands');
    const found = await findIdentity(t.ctx, 'slack', TEAM_ID, 'U100');
    expect(found?.person).toMatchObject({ handle: 'jane-doe', email: 'jane.doe@corp.com', timezone: 'Europe/Berlin', lastPlatform: 'slack' });
    await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: 'help' });
    expect(fake.callsOf('users.info').filter((c) => c.params.user === 'U100')).toHaveLength(1);
  });

  it('by default acks at once, empty, and answers privately through the response_url', async () => {
    const quick = await startSlackHarness(t.ctx);
    try {
      const res = await sendSlashCommand(quick.baseUrl, { user_id: 'U100', text: 'whois @nobody', response_url: fake.responseUrl('default-1') });
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      const posted = await fake.waitForResponse('default-1', 10_000);
      expect(posted.body.response_type).toBe('ephemeral');
      expect(String(posted.body.text)).toContain('@nobody is not a known handle. Try: whois @handle');
    } finally {
      await quick.close();
    }
  });

  it('acks a slow command at once and answers it through the response_url', async () => {
    fake.addUser({ id: 'USLOW', name: 'slow', real_name: 'Sloane Slow', profile: { email: 'sloane@corp.com' } });
    // Slack looks up the new user slowly, so the command cannot finish within the ack budget.
    fake.delay('users.info', 2600);
    try {
      const res = await sendSlashCommand(h.baseUrl, { user_id: 'USLOW', text: 'help', response_url: fake.responseUrl('slow-1') });
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      const posted = await fake.waitForResponse('slow-1', 10_000);
      expect(posted.body.response_type).toBe('ephemeral');
      expect(String(posted.body.text)).toMatch(/follow/i);
    } finally {
      fake.delay('users.info', 0);
    }
  });

  it('answers an unknown command word with the usage', async () => {
    const res = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: 'help frobnicate' });
    expect(res.json?.response_type).toBe('ephemeral');
    expect(replyOf(res.json)).toMatch(/"frobnicate" is not a command.*Try: help/s);
  });

  it('answers a command used wrongly with the mistake and the right usage', async () => {
    const res = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: 'follow @nobody' });
    expect(res.json?.response_type).toBe('ephemeral');
    expect(replyOf(res.json)).toContain('@nobody is not a known handle');
    expect(replyOf(res.json)).toContain('Try: whois @handle');
  });

  it('turns a Slack mention into the @handle of that person', async () => {
    const res = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: 'follow <@U200|sam>' });
    expect(res.json?.response_type).toBe('ephemeral');
    const sam = await getSourceByHandle(t.ctx, 'sam');
    expect(sam).not.toBeNull();
    const jane = (await findIdentity(t.ctx, 'slack', TEAM_ID, 'U100'))!.person;
    const rows = await t.database.db
      .select()
      .from(follows)
      .where(and(eq(follows.subscriberId, jane.id), eq(follows.target, sam!.id)));
    expect(rows).toHaveLength(1);
    expect(replyOf(res.json)).toContain('@sam');
  });

  it('posts text that is not a command as a status of the person', async () => {
    const res = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: 'shipping the &lt;new&gt; release' });
    expect(res.json?.response_type).toBe('ephemeral');
    const jane = (await findIdentity(t.ctx, 'slack', TEAM_ID, 'U100'))!.person;
    const rows = await t.database.db.select().from(statuses).where(eq(statuses.sourceId, jane.id));
    expect(rows.map((r) => [r.text, r.platform])).toContainEqual(['shipping the <new> release', 'slack']);
  });

  it('binds a channel with `channel publish`, after which its messages become statuses', async () => {
    const res = await sendSlashCommand(h.baseUrl, { user_id: 'UOPS', text: 'channel publish @build', channel_id: 'CREL', channel_name: 'releases' });
    expect(res.json?.response_type).toBe('ephemeral');
    const [row] = await t.database.db.select().from(channels).where(eq(channels.externalId, 'CREL'));
    expect(row).toMatchObject({ platform: 'slack', tenant: TEAM_ID, name: 'releases' });
    const build = (await getSourceByHandle(t.ctx, 'build')) as SourceRow;
    expect(row!.publishServiceId).toBe(build.id);

    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U200', text: 'v2.1 is out', channel: 'CREL', channel_type: 'channel' })));
    const [status] = await waitUntil(async () => {
      const r = await t.database.db.select().from(statuses).where(eq(statuses.sourceId, build.id));
      return r.length ? r : null;
    }, 'the channel status');
    expect(status!.text).toBe('v2.1 is out');
  });
});

describe("the app's DM", () => {
  it('runs a typed command and answers in the DM, once even when Slack retries the event', async () => {
    const envelope = eventCallback(messageEvent({ user: 'U200', text: 'post hello from the DM', channel: 'D200', channel_type: 'im' }));
    await sendEvent(h.baseUrl, envelope);
    await sendEvent(h.baseUrl, envelope, { retryNum: 1 });
    const reply = await fake.waitForCall('chat.postMessage', (c) => c.params.channel === 'D200');
    expect(String(reply.params.text).length).toBeGreaterThan(0);
    const sam = (await findIdentity(t.ctx, 'slack', TEAM_ID, 'U200'))!;
    // The DM channel is remembered, so deliveries need no conversations.open.
    expect(sam.identity.data.dmChannel).toBe('D200');
    // A later message settles the order: once its answer is in, the retry was handled before it.
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U200', text: 'help', channel: 'D200', channel_type: 'im' })));
    await fake.waitFor(() => fake.callsOf('chat.postMessage').filter((c) => c.params.channel === 'D200').length >= 2, 5000, 'the second DM answer');
    const rows = await t.database.db.select().from(statuses).where(and(eq(statuses.sourceId, sam.person.id), eq(statuses.text, 'hello from the DM')));
    expect(rows).toHaveLength(1);
    expect(fake.callsOf('chat.postMessage').filter((c) => c.params.channel === 'D200')).toHaveLength(2);
  });

  it("ignores the app's own messages and edits in the DM", async () => {
    const before = fake.callsOf('chat.postMessage').length;
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'UBOT', text: 'help', channel: 'D200', channel_type: 'im', bot_id: 'BBOT' })));
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U200', text: 'help', channel: 'D200', channel_type: 'im', subtype: 'message_changed' })));
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U200', text: 'help', channel: 'D200', channel_type: 'im' })));
    await fake.waitFor(() => fake.callsOf('chat.postMessage').length > before, 5000, 'the answer to the real message');
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.callsOf('chat.postMessage')).toHaveLength(before + 1);
  });
});
