import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findIdentity, linkIdentity } from '../../../src/app/people.js';
import { upsertChannel } from '../../../src/app/channels.js';
import { plainText, type OutboundMessage, type StatusView } from '../../../src/core/messages.js';
import { createTeamsIntegration, type TeamsIntegration } from '../../../src/integrations/teams/index.js';
import { teamsMessageRef } from '../../../src/integrations/teams/proactive.js';
import type { ChannelAddress, IdentityAddress } from '../../../src/pipeline/messenger.js';
import { FakeBotConnector } from '../../fakes/bot-connector.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { BOT, TENANT, personalConversationId, teamsUser } from './helpers.js';

const status: StatusView = {
  id: '01JDSTATUS0000000000000001',
  url: 'http://127.0.0.1:3000/statuses/01JDSTATUS0000000000000001',
  text: 'Deploy of api 4.2 finished #deploy',
  created_at: '2026-11-23T10:00:00.000Z',
  platform: 'hook',
  source: { handle: 'build', kind: 'service', name: 'Build server' },
  entities: { mentions: [], tags: ['deploy'], urls: [], amounts: [] },
};
const statusMessage: OutboundMessage = { kind: 'status', status, why: 'You follow @build', offHint: 'Reply "off @build" to stop' };

type Card = { type: string; version: string; body: { type: string; text?: string }[]; actions?: { type: string; title: string; data?: unknown; url?: string }[]; fallbackText: string };
const cardOf = (activity: Record<string, unknown>) => {
  const attachments = activity.attachments as { contentType: string; content: Card }[];
  expect(attachments).toHaveLength(1);
  expect(attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
  return attachments[0]!.content;
};

describe('Teams messenger', () => {
  let t: TestContext;
  let connector: FakeBotConnector;
  let teams: TeamsIntegration;

  beforeAll(async () => {
    t = await createTestContext({ MICROSOFT_APP_ID: '' });
    connector = await FakeBotConnector.start();
    teams = createTeamsIntegration(t.ctx);
  });
  afterAll(async () => {
    await connector?.close();
    await t?.drop();
  });
  beforeEach(() => connector.reset());

  /** A person who has a 1:1 chat with the bot, as an inbound message would have stored it. */
  async function personWithChat(name: string, email: string): Promise<IdentityAddress> {
    const u = teamsUser(connector, name, email);
    const conversationReference = {
      channelId: 'msteams',
      serviceUrl: connector.serviceUrl,
      conversation: { id: personalConversationId(u), conversationType: 'personal', tenantId: TENANT },
      bot: BOT,
      user: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
    };
    const data = { userId: u.id, serviceUrl: connector.serviceUrl, botId: BOT.id, conversationReference };
    const person = await linkIdentity(t.ctx, { platform: 'teams', tenant: TENANT, externalId: u.aadObjectId, email, name, data });
    return { personId: person.id, platform: 'teams', tenant: TENANT, externalId: u.aadObjectId, data };
  }

  it('delivers a status as an Adaptive Card with the plain text as fallback, and returns where it landed', async () => {
    const to = await personWithChat('Ann Status', 'ann.status@example.com');
    const outcome = await teams.messenger.sendToPerson(to, statusMessage);

    const conversationId = (to.data.conversationReference as { conversation: { id: string } }).conversation.id;
    const [msg] = connector.messages(conversationId);
    expect(msg).toBeDefined();
    expect(outcome).toEqual({ kind: 'sent', ref: { platform: 'teams', serviceUrl: connector.serviceUrl, conversationId, activityId: msg!.activityId } });
    expect(msg!.activity.type).toBe('message');
    expect(msg!.activity.summary).toBe(plainText(statusMessage));
    const card = cardOf(msg!.activity);
    expect(card.type).toBe('AdaptiveCard');
    expect(card.fallbackText).toBe(plainText(statusMessage));
    const texts = card.body.map((b) => b.text).join('\n');
    expect(texts).toContain('Build server');
    expect(texts).toContain('@build');
    expect(texts).toContain('Deploy of api 4.2 finished #deploy');
    expect(texts).toContain('{{DATE(2026-11-23T10:00:00Z, SHORT)}}');
    expect(texts).toContain('You follow @build. Reply "off @build" to stop');
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open', url: status.url }]);
    // No credentials configured: outbound calls carry no token.
    expect(connector.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('renders a follow request with Approve and Deny buttons that carry the follow id', async () => {
    const to = await personWithChat('Ann Owner', 'ann.owner@example.com');
    const m: OutboundMessage = { kind: 'follow_request', followId: 'f-123', requester: { handle: 'bob', name: 'Bob B' }, source: { handle: 'payroll', name: 'Payroll' } };
    expect((await teams.messenger.sendToPerson(to, m)).kind).toBe('sent');
    const card = cardOf(connector.messages()[0]!.activity);
    expect(card.fallbackText).toBe(plainText(m));
    expect(card.actions).toEqual([
      expect.objectContaining({ type: 'Action.Submit', title: 'Approve', data: { action: 'tp.approve', followId: 'f-123' } }),
      expect.objectContaining({ type: 'Action.Submit', title: 'Deny', data: { action: 'tp.deny', followId: 'f-123' } }),
    ]);
  });

  it('renders notices, direct messages and summaries as cards too', async () => {
    const to = await personWithChat('Ann Kinds', 'ann.kinds@example.com');
    const messages: OutboundMessage[] = [
      { kind: 'notice', text: '@payroll approved your follow request.' },
      { kind: 'direct', from: { handle: 'bob', name: 'Bob B' }, text: 'lunch?' },
      { kind: 'summary', title: 'While you were away', items: [status, { ...status, id: 'x2', text: 'second' }], more: 3 },
    ];
    for (const m of messages) expect((await teams.messenger.sendToPerson(to, m)).kind).toBe('sent');
    const cards = connector.messages().map((s) => cardOf(s.activity));
    expect(cards.map((c) => c.fallbackText)).toEqual(messages.map(plainText));
    expect(cards[1]!.body.map((b) => b.text).join(' ')).toContain('lunch?');
    expect(cards[2]!.body.map((b) => b.text).join(' ')).toContain('…and 3 more');
  });

  it('opens a 1:1 chat when the person has none yet, stores it, and uses it next time', async () => {
    const u = teamsUser(connector, 'Cy New', 'cy.new@example.com');
    const data = { userId: u.id, serviceUrl: connector.serviceUrl, botId: BOT.id };
    const person = await linkIdentity(t.ctx, { platform: 'teams', tenant: TENANT, externalId: u.aadObjectId, email: u.email, name: u.name, data });
    const to: IdentityAddress = { personId: person.id, platform: 'teams', tenant: TENANT, externalId: u.aadObjectId, data };

    const first = await teams.messenger.sendToPerson(to, { kind: 'notice', text: 'hello' });
    expect(first.kind).toBe('sent');
    expect(connector.conversations).toHaveLength(1);
    const created = connector.conversations[0]!;
    expect(created.parameters).toMatchObject({ isGroup: false, bot: { id: BOT.id }, members: [{ id: u.id }], tenantId: TENANT, channelData: { tenant: { id: TENANT } } });
    expect(connector.messages(created.id)).toHaveLength(1);
    expect(first).toMatchObject({ ref: { conversationId: created.id } });

    const stored = await findIdentity(t.ctx, 'teams', TENANT, u.aadObjectId);
    expect(stored!.identity.data.conversationReference).toMatchObject({ serviceUrl: connector.serviceUrl, conversation: { id: created.id } });

    const again = await teams.messenger.sendToPerson({ ...to, data: stored!.identity.data }, { kind: 'notice', text: 'again' });
    expect(again.kind).toBe('sent');
    expect(connector.conversations).toHaveLength(1);
    expect(connector.messages(created.id)).toHaveLength(2);
  });

  it('skips a person the bot has never met on Teams', async () => {
    const outcome = await teams.messenger.sendToPerson({ personId: 'p', platform: 'teams', tenant: TENANT, externalId: 'x', data: {} }, { kind: 'notice', text: 'hi' });
    expect(outcome.kind).toBe('skip');
    expect(connector.requests).toHaveLength(0);
  });

  it('posts into a channel as a new post, not into an old thread', async () => {
    const channelId = '19:c0ffee@thread.tacv2';
    const ch = await upsertChannel(t.ctx, {
      platform: 'teams',
      tenant: TENANT,
      externalId: channelId,
      name: 'deploys',
      data: { conversationReference: { channelId: 'msteams', serviceUrl: connector.serviceUrl, conversation: { id: channelId, isGroup: true, conversationType: 'channel' }, bot: BOT } },
    });
    const to: ChannelAddress = { channelId: ch.id, platform: 'teams', tenant: TENANT, externalId: channelId, data: ch.data };
    const outcome = await teams.messenger.sendToChannel(to, statusMessage);
    expect(outcome).toMatchObject({ kind: 'sent', ref: { platform: 'teams', conversationId: channelId } });
    expect(connector.messages(channelId)).toHaveLength(1);
    expect(connector.requests[0]!.path.startsWith(`/v3/conversations/${channelId}/activities`)).toBe(true);
  });

  it('waits out one 429 (Retry-After) and then delivers', async () => {
    const to = await personWithChat('Ann Busy', 'ann.busy@example.com');
    connector.failNext({ method: 'POST', path: /\/activities/, status: 429, headers: { 'Retry-After': '1' } });
    const outcome = await teams.messenger.sendToPerson(to, statusMessage);
    expect(outcome.kind).toBe('sent');
    expect(connector.requests.map((r) => r.status)).toEqual([429, 201]);
    expect(connector.messages()).toHaveLength(1);
  });

  it('hands a lasting 429 back to the queue with the Retry-After delay', async () => {
    const to = await personWithChat('Ann Throttled', 'ann.throttled@example.com');
    // botbuilder's pipeline retries a 429 three times itself; the fourth answer reaches us.
    connector.failNext({ method: 'POST', path: /\/activities/, status: 429, headers: { 'Retry-After': '1' }, times: 4 });
    const outcome = await teams.messenger.sendToPerson(to, statusMessage);
    expect(outcome).toMatchObject({ kind: 'retry', retryAfterMs: 1000 });
    expect(connector.requests).toHaveLength(4);
    expect(connector.messages()).toHaveLength(0);
  });

  it('retries a 412, skips a 403 (bot removed or blocked) and a 404 (conversation gone)', async () => {
    const to = await personWithChat('Ann Gone', 'ann.gone@example.com');
    connector.failNext({ method: 'POST', path: /\/activities/, status: 412 });
    expect((await teams.messenger.sendToPerson(to, statusMessage)).kind).toBe('retry');

    connector.failNext({ method: 'POST', path: /\/activities/, status: 403, body: { error: { code: 'ConversationBlockedByUser', message: 'User blocked the conversation with the bot.' } } });
    const blocked = await teams.messenger.sendToPerson(to, statusMessage);
    expect(blocked.kind).toBe('skip');
    expect(blocked).toMatchObject({ reason: expect.stringContaining('ConversationBlockedByUser') });

    connector.failNext({ method: 'POST', path: /\/activities/, status: 404 });
    expect((await teams.messenger.sendToPerson(to, statusMessage)).kind).toBe('skip');
    expect(connector.messages()).toHaveLength(0);
  });

  it('retracts a message with DELETE, and a message already gone counts as retracted', async () => {
    const to = await personWithChat('Ann Retract', 'ann.retract@example.com');
    const outcome = await teams.messenger.sendToPerson(to, statusMessage);
    if (outcome.kind !== 'sent' || !outcome.ref) throw new Error('not sent');
    const ref = teamsMessageRef.parse(outcome.ref);

    expect(await teams.messenger.retract(outcome.ref)).toEqual({ kind: 'sent' });
    const del = connector.requests.find((r) => r.method === 'DELETE');
    expect(del?.path).toBe(`/v3/conversations/${ref.conversationId}/activities/${ref.activityId}`);
    expect(connector.messages()).toHaveLength(0);

    expect(await teams.messenger.retract(outcome.ref)).toEqual({ kind: 'sent' });
    expect(connector.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([200, 404]);

    connector.failNext({ method: 'DELETE', status: 403 });
    expect((await teams.messenger.retract(outcome.ref)).kind).toBe('skip');
  });
});
