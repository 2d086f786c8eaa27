import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { linkIdentity, type SourceRow } from '../../../src/app/people.js';
import type { OutboundMessage, StatusView } from '../../../src/core/messages.js';
import { plainText } from '../../../src/core/messages.js';
import { escapeMrkdwn } from '../../../src/integrations/slack/blocks.js';
import { identities } from '../../../src/db/schema.js';
import { createSlackIntegration } from '../../../src/integrations/slack/index.js';
import { ACTION_APPROVE, ACTION_DENY } from '../../../src/integrations/slack/scopes.js';
import type { IdentityAddress, Messenger } from '../../../src/pipeline/messenger.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { BOT_TOKEN, slackEnv, TEAM_ID } from './helpers.js';

let fake: FakeSlackApi;
let t: TestContext;
let messenger: Messenger;
let jane: SourceRow;

const status: StatusView = {
  id: '01JSTATUS',
  url: 'http://127.0.0.1:3000/statuses/01JSTATUS',
  text: 'Deploy <b>done</b> & green',
  created_at: '2026-11-23T10:00:00.000Z',
  platform: 'api',
  source: { handle: 'build', kind: 'service', name: 'Build server' },
  entities: { mentions: [], tags: [], urls: [], amounts: [] },
};
const statusMessage: OutboundMessage = { kind: 'status', status, why: 'You follow @build', offHint: 'Stop with /tp unfollow @build' };

async function address(externalId: string): Promise<IdentityAddress> {
  const rows = await t.database.db
    .select()
    .from(identities)
    .where(and(eq(identities.platform, 'slack'), eq(identities.tenant, TEAM_ID), eq(identities.externalId, externalId)));
  const r = rows[0]!;
  return { personId: r.personId, platform: 'slack', tenant: r.tenant, externalId: r.externalId, data: r.data };
}

beforeAll(async () => {
  fake = await startFakeSlackApi();
  t = await createTestContext(slackEnv(fake.apiUrl));
  // The worker side: no express app, no Bolt; only the messenger.
  messenger = createSlackIntegration(t.ctx, { botId: 'BBOT', botUserId: 'UBOT' }).messenger!;
  jane = await linkIdentity(t.ctx, { platform: 'slack', tenant: TEAM_ID, externalId: 'U100', email: 'jane@corp.com', name: 'Jane' });
  await linkIdentity(t.ctx, { platform: 'slack', tenant: TEAM_ID, externalId: 'U300', email: 'kim@corp.com', name: 'Kim' });
});

afterAll(async () => {
  await fake?.stop();
  await t?.drop();
});

beforeEach(() => fake.reset());

describe('Slack messenger: DMs', () => {
  it('opens the DM, posts Block Kit with a plain-text fallback, and remembers the DM channel', async () => {
    const outcome = await messenger.sendToPerson(await address('U100'), statusMessage);
    expect(outcome.kind).toBe('sent');
    const open = fake.callsOf('conversations.open');
    expect(open).toHaveLength(1);
    expect(open[0]!.params.users).toBe('U100');
    expect(open[0]!.token).toBe(BOT_TOKEN);
    const [post] = fake.callsOf('chat.postMessage');
    expect(post!.params.channel).toBe('D100');
    // The fallback is escaped like the blocks: Slack parses `text` too (and shows it in notifications).
    expect(post!.params.text).toBe(escapeMrkdwn(plainText(statusMessage)));
    const blocks = JSON.stringify(post!.params.blocks);
    // mrkdwn escaping of the status text, source, link, time and the why/off context line
    expect(blocks).toContain('Deploy &lt;b&gt;done&lt;/b&gt; &amp; green');
    expect(blocks).toContain('*@build* Build server');
    expect(blocks).toContain(`<${status.url}|link>`);
    expect(blocks).toContain(`<!date^${Date.parse(status.created_at) / 1000}^`);
    expect(blocks).toContain('You follow @build. Stop with /tp unfollow @build');
    if (outcome.kind !== 'sent') throw new Error('not sent');
    expect(outcome.ref).toMatchObject({ platform: 'slack', team: TEAM_ID, channel: 'D100' });
    expect(outcome.ref!.ts).toMatch(/^\d+\.\d{6}$/);

    const to = await address('U100');
    expect(to.data.dmChannel).toBe('D100');
    expect(to.personId).toBe(jane.id);
    await messenger.sendToPerson(to, { kind: 'notice', text: 'hello again' });
    expect(fake.callsOf('conversations.open')).toHaveLength(1);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(2);
  });

  it('renders a follow request with Approve and Deny buttons carrying the follow id', async () => {
    const m: OutboundMessage = { kind: 'follow_request', followId: 'F123', requester: { handle: 'sam', name: 'Sam' }, source: { handle: 'secret', name: 'Secret' } };
    expect((await messenger.sendToPerson(await address('U100'), m)).kind).toBe('sent');
    const [post] = fake.callsOf('chat.postMessage');
    const blocks = post!.params.blocks as { type: string; elements?: { action_id: string; value: string; style?: string }[] }[];
    const actions = blocks.find((b) => b.type === 'actions')!;
    expect(actions.elements!.map((e) => [e.action_id, e.value, e.style])).toEqual([
      [ACTION_APPROVE, 'F123', 'primary'],
      [ACTION_DENY, 'F123', 'danger'],
    ]);
    expect(post!.params.text).toBe(escapeMrkdwn(plainText(m)));
  });

  it('renders a summary, a direct message and a notice', async () => {
    const to = await address('U100');
    const summary: OutboundMessage = { kind: 'summary', title: 'While you were away', items: [status, { ...status, id: '2', text: 'second' }], more: 3 };
    await messenger.sendToPerson(to, summary);
    await messenger.sendToPerson(to, { kind: 'direct', from: { handle: 'sam', name: 'Sam Smith' }, text: 'lunch?' });
    await messenger.sendToPerson(to, { kind: 'notice', text: '@secret approved your follow request.' });
    const posts = fake.callsOf('chat.postMessage');
    expect(posts).toHaveLength(3);
    const s = posts[0]!.params.blocks as { type: string; text?: { text: string } }[];
    expect(s[0]).toMatchObject({ type: 'header', text: { text: 'While you were away' } });
    expect(JSON.stringify(s)).toContain('second');
    expect(JSON.stringify(s)).toContain('…and 3 more');
    expect(posts[0]!.params.text).toBe(escapeMrkdwn(plainText(summary)));
    expect(JSON.stringify(posts[1]!.params.blocks)).toContain('Direct message from *@sam* Sam Smith');
    expect(posts[1]!.params.text).toBe('Direct message from @sam: lunch?');
    expect(posts[2]!.params.text).toBe('@secret approved your follow request.');
  });

  it('answers a 429 with retry and the Retry-After delay, then sends on the next attempt', async () => {
    fake.rateLimit('chat.postMessage', 7);
    const to = await address('U100');
    const first = await messenger.sendToPerson(to, statusMessage);
    expect(first).toEqual({ kind: 'retry', error: 'rate limited by Slack', retryAfterMs: 7000 });
    const second = await messenger.sendToPerson(to, statusMessage);
    expect(second.kind).toBe('sent');
    expect(fake.callsOf('chat.postMessage')).toHaveLength(2);
  });

  it('skips a deactivated person, a bot and an uninstalled workspace for good', async () => {
    const to = await address('U300');
    fake.fail('conversations.open', 'user_disabled');
    expect(await messenger.sendToPerson(to, statusMessage)).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/^user_disabled/) });
    fake.fail('conversations.open', 'cannot_dm_bot');
    expect(await messenger.sendToPerson(to, statusMessage)).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/^cannot_dm_bot/) });
    fake.fail('conversations.open', 'account_inactive');
    expect(await messenger.sendToPerson(to, statusMessage)).toMatchObject({ kind: 'skip' });
    fake.fail('conversations.open', 'token_revoked');
    expect(await messenger.sendToPerson(to, statusMessage)).toMatchObject({ kind: 'skip' });
    fake.fail('conversations.open', 'invalid_auth');
    expect(await messenger.sendToPerson(to, statusMessage)).toMatchObject({ kind: 'skip' });
    expect(fake.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('retries other failures: an unknown error code and a server error', async () => {
    const to = await address('U300');
    fake.fail('conversations.open', 'internal_error');
    expect(await messenger.sendToPerson(to, statusMessage)).toEqual({ kind: 'retry', error: 'slack: internal_error' });
    fake.httpError('conversations.open', 503);
    expect(await messenger.sendToPerson(to, statusMessage)).toMatchObject({ kind: 'retry' });
  });

  it('opens a fresh DM when the remembered one is gone', async () => {
    const to = await address('U100');
    expect(to.data.dmChannel).toBe('D100');
    fake.fail('chat.postMessage', 'channel_not_found');
    expect((await messenger.sendToPerson(to, { kind: 'notice', text: 'hi' })).kind).toBe('sent');
    expect(fake.callsOf('conversations.open')).toHaveLength(1);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(2);
  });
});

describe('Slack messenger: channels and retraction', () => {
  const channel = { channelId: 'ch1', platform: 'slack' as const, tenant: TEAM_ID, externalId: 'CDEPLOY', data: {} };

  it('posts to a channel and returns where the message landed', async () => {
    const outcome = await messenger.sendToChannel(channel, statusMessage);
    const [post] = fake.callsOf('chat.postMessage');
    expect(post!.params.channel).toBe('CDEPLOY');
    expect(outcome).toEqual({ kind: 'sent', ref: { platform: 'slack', team: TEAM_ID, channel: 'CDEPLOY', ts: expect.any(String) } });
  });

  it('skips an archived channel', async () => {
    fake.fail('chat.postMessage', 'is_archived');
    expect(await messenger.sendToChannel(channel, statusMessage)).toMatchObject({ kind: 'skip', reason: expect.stringContaining('archived') });
  });

  it('a 429 on a channel post carries Retry-After', async () => {
    fake.rateLimit('chat.postMessage', 30);
    expect(await messenger.sendToChannel(channel, statusMessage)).toMatchObject({ kind: 'retry', retryAfterMs: 30_000 });
  });

  it('retracts with chat.delete; a message already gone counts as done', async () => {
    const sent = await messenger.sendToChannel(channel, statusMessage);
    if (sent.kind !== 'sent' || !sent.ref) throw new Error('not sent');
    expect(await messenger.retract(sent.ref)).toMatchObject({ kind: 'sent' });
    const [del] = fake.callsOf('chat.delete');
    expect(del!.params).toMatchObject({ channel: 'CDEPLOY', ts: sent.ref.ts });
    expect(del!.token).toBe(BOT_TOKEN);
    fake.fail('chat.delete', 'message_not_found');
    expect(await messenger.retract(sent.ref)).toMatchObject({ kind: 'sent' });
    fake.rateLimit('chat.delete', 3);
    expect(await messenger.retract(sent.ref)).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
    expect(await messenger.retract({ platform: 'slack' })).toMatchObject({ kind: 'fail' });
  });
});
