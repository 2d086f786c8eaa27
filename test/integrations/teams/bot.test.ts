import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getChannel, setPublish, upsertChannel } from '../../../src/app/channels.js';
import { follow, getFollow, resolveTarget } from '../../../src/app/follows.js';
import { createPerson, findIdentity, linkIdentity, type SourceRow } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { getSourceByHandle } from '../../../src/app/people.js';
import { channels, consentLog, follows, processedEvents, sources, statuses } from '../../../src/db/schema.js';
import { SORRY } from '../../../src/integrations/teams/bot.js';
import { teamsMessageRef } from '../../../src/integrations/teams/proactive.js';
import { FakeBotConnector } from '../../fakes/bot-connector.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import {
  BOT,
  TENANT,
  cardInvoke,
  cardSubmit,
  channelMessage,
  mentionText,
  personalConversationId,
  personalInstall,
  personalMessage,
  postActivity,
  startTeamsApp,
  teamInstall,
  teamUninstall,
  teamsUser,
  type TeamsApp,
  type TeamsUser,
} from './helpers.js';

type Card = { body: { text?: string }[]; actions?: unknown[] };
const cardText = (activity: Record<string, unknown>) =>
  ((activity.attachments as { content: Card }[])[0]!.content.body.map((b) => b.text ?? '').join('\n'));

describe('Teams bot (inbound)', () => {
  let t: TestContext;
  let connector: FakeBotConnector;
  let app: TeamsApp;

  beforeAll(async () => {
    t = await createTestContext({ MICROSOFT_APP_ID: '' });
    connector = await FakeBotConnector.start();
    app = await startTeamsApp(t.ctx);
  });
  afterAll(async () => {
    await app?.close();
    await connector?.close();
    await t?.drop();
  });
  beforeEach(() => connector.reset());

  const post = async (activity: Record<string, unknown>) => {
    const r = await postActivity(app.baseUrl, activity);
    expect(r.status, r.body).toBeLessThan(300);
    return r;
  };

  /** A user who installed the bot for themselves (so the bot has their 1:1 chat). */
  async function installed(name: string, email: string): Promise<{ user: TeamsUser; person: SourceRow }> {
    const user = teamsUser(connector, name, email);
    await post(personalInstall({ serviceUrl: connector.serviceUrl, from: user }));
    const found = await findIdentity(t.ctx, 'teams', TENANT, user.aadObjectId);
    return { user, person: found!.person };
  }

  describe('installs', () => {
    it('personal install: looks the user up, links the identity, stores the 1:1 chat, says hello', async () => {
      const user = teamsUser(connector, 'Jane Doe', 'Jane.Doe@example.com');
      await post(personalInstall({ serviceUrl: connector.serviceUrl, from: user }));

      const conversationId = personalConversationId(user);
      expect(connector.requests.some((r) => r.method === 'GET' && r.path === `/v3/conversations/${conversationId}/members/${user.id}`)).toBe(true);
      const found = await findIdentity(t.ctx, 'teams', TENANT, user.aadObjectId);
      expect(found?.person).toMatchObject({ handle: 'jane-doe', email: 'jane.doe@example.com', name: 'Jane Doe', lastPlatform: 'teams' });
      expect(found?.identity.data).toMatchObject({
        userId: user.id,
        serviceUrl: connector.serviceUrl,
        botId: BOT.id,
        conversationReference: { serviceUrl: connector.serviceUrl, conversation: { id: conversationId }, bot: { id: BOT.id }, user: { id: user.id } },
      });
      expect((found?.identity.data.conversationReference as Record<string, unknown>).activityId).toBeUndefined();
      const [hello] = connector.messages(conversationId);
      expect(hello?.activity.text).toContain('I am Twitterprise');
    });

    it('a Teams user with the email of a known person (e.g. from Slack) is that person', async () => {
      const slack = await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'U1', email: 'sam.both@example.com', name: 'Sam Both' });
      const { person } = await installed('Sam Both', 'sam.both@example.com');
      expect(person.id).toBe(slack.id);
    });

    it('joins by a mail address only on the domain of the UPN, and never a guest', async () => {
      const known = await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'UKIM', email: 'kim@example.com', name: 'Kim' });
      const claims = [
        // An admin typed someone else's address into the mail attribute; the UPN is on another domain.
        { name: 'Kim Claim', upn: 'kclaim@other-tenant.example', expected: 'kclaim@other-tenant.example' },
        // A guest from another organisation.
        { name: 'Kim Guest', upn: 'kim_example.com#EXT#@contoso.onmicrosoft.com', expected: null },
      ];
      for (const c of claims) {
        const user = teamsUser(null, c.name, 'kim@example.com');
        connector.addMember({ ...user, tenantId: TENANT, userPrincipalName: c.upn });
        await post(personalInstall({ serviceUrl: connector.serviceUrl, from: user }));
        const found = await findIdentity(t.ctx, 'teams', TENANT, user.aadObjectId);
        expect(found!.person.id).not.toBe(known.id);
        expect(found!.person.email).toBe(c.expected);
      }
      // The mail address on the UPN's own domain is the one that counts.
      const kim = teamsUser(null, 'Kim', 'kim@example.com');
      connector.addMember({ ...kim, tenantId: TENANT, userPrincipalName: 'k.lee@example.com' });
      await post(personalInstall({ serviceUrl: connector.serviceUrl, from: kim }));
      expect((await findIdentity(t.ctx, 'teams', TENANT, kim.aadObjectId))!.person.id).toBe(known.id);
    });

    it('team install: stores the General channel with its reference and greets it', async () => {
      const user = teamsUser(connector, 'Tia Admin', 'tia.admin@example.com');
      const teamId = '19:team0001@thread.tacv2';
      await post(teamInstall({ serviceUrl: connector.serviceUrl, from: user, teamId, teamName: 'Contoso' }));
      const [row] = await t.database.db.select().from(channels).where(and(eq(channels.platform, 'teams'), eq(channels.externalId, teamId)));
      expect(row).toMatchObject({ tenant: TENANT, name: 'Contoso: General' });
      expect(row!.data).toMatchObject({ teamId, conversationReference: { serviceUrl: connector.serviceUrl, conversation: { id: teamId } } });
      expect(connector.messages(teamId)[0]?.activity.text).toContain('channel follow @handle');
    });
  });

  describe('the bot removed from a team', () => {
    it("ends the follows and the publishing of every channel of that team, recorded with the reason", async () => {
      const admin = teamsUser(connector, 'Uma Admin', 'uma.admin@example.com');
      const owner = await createPerson(t.ctx, { name: 'Tom Owner', email: 'tom.owner@example.com' });
      await createService(t.ctx, { handle: 'alerts', name: 'Alerts', owners: ['tom-owner'] });
      const alerts = (await getSourceByHandle(t.ctx, 'alerts'))!;
      const teamId = '19:team0009@thread.tacv2';
      const general = await upsertChannel(t.ctx, { platform: 'teams', tenant: TENANT, externalId: teamId, name: 'Ops: General', data: { teamId } });
      const ops = await upsertChannel(t.ctx, { platform: 'teams', tenant: TENANT, externalId: '19:ops0009@thread.tacv2', name: 'ops', data: { teamId } });
      const other = await upsertChannel(t.ctx, { platform: 'teams', tenant: TENANT, externalId: '19:else0009@thread.tacv2', name: 'else', data: { teamId: '19:other@thread.tacv2' } });
      for (const ch of [general, ops, other]) {
        await follow(t.ctx, { subscriber: { kind: 'channel', id: ch.id }, actor: owner, target: await resolveTarget(t.ctx, '@alerts'), route: 'channel', via: 'teams' });
      }
      await setPublish(t.ctx, ops.id, owner, alerts);
      const followsOf = async (id: string) => t.database.db.select().from(follows).where(and(eq(follows.subscriberKind, 'channel'), eq(follows.subscriberId, id)));

      await post(teamUninstall({ serviceUrl: connector.serviceUrl, from: admin, teamId, teamName: 'Ops' }));
      expect(await followsOf(general.id)).toHaveLength(0);
      expect(await followsOf(ops.id)).toHaveLength(0);
      expect(await followsOf(other.id)).toHaveLength(1);
      expect((await getChannel(t.ctx, ops.id))!.publishServiceId).toBeNull();
      const consent = await t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, ops.id));
      expect(consent.filter((c) => c.action === 'unfollow').map((c) => [c.object, c.via, c.detail])).toEqual([
        ['@alerts', 'teams', { subscriberKind: 'channel', reason: 'the app was removed by Uma Admin' }],
      ]);
      // Nothing is said into a team the bot has left.
      expect(connector.messages(teamId)).toHaveLength(0);
    });
  });

  describe('channel publish', () => {
    const where = { teamId: '19:team0002@thread.tacv2', channelId: '19:deploys0002@thread.tacv2', channelName: 'deploys' };
    let owner: SourceRow;
    let build: SourceRow;

    beforeAll(async () => {
      owner = await createPerson(t.ctx, { name: 'Olga Owner', email: 'olga.owner@example.com' });
      await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['olga-owner'] });
      build = (await getSourceByHandle(t.ctx, 'build'))!;
      const ch = await upsertChannel(t.ctx, { platform: 'teams', tenant: TENANT, externalId: where.channelId, name: 'deploys' });
      await setPublish(t.ctx, ch.id, owner, build);
    });

    const statusesOfBuild = () => t.database.db.select().from(statuses).where(eq(statuses.sourceId, build.id));

    it('a new post in the channel becomes a status of the service, once, without a word in the channel', async () => {
      const author = teamsUser(connector, 'Pat Poster', 'pat.poster@example.com');
      const activity = channelMessage({ serviceUrl: connector.serviceUrl, from: author, ...where, text: 'Deploy &amp; rollout of api 4.2 done' });
      await post(activity);
      await post(activity);

      const rows = await statusesOfBuild();
      expect(rows).toHaveLength(1);
      const conv = (activity.conversation as { id: string }).id;
      expect(rows[0]).toMatchObject({ text: 'Deploy & rollout of api 4.2 done', platform: 'teams', dedupeKey: `teams:${TENANT}:${conv}:${activity.id as string}` });
      const authorRow = await findIdentity(t.ctx, 'teams', TENANT, author.aadObjectId);
      expect(rows[0]!.authorId).toBe(authorRow!.person.id);
      expect(connector.messages()).toHaveLength(0);
    });

    it('replies in a thread are not published', async () => {
      const author = teamsUser(connector, 'Pat Replier', 'pat.replier@example.com');
      const before = (await statusesOfBuild()).length;
      await post(channelMessage({ serviceUrl: connector.serviceUrl, from: author, ...where, text: 'nice!', threadId: '1699999999999' }));
      expect(await statusesOfBuild()).toHaveLength(before);
    });

    it('strips the bot mention and turns user mentions into @handles', async () => {
      const author = teamsUser(connector, 'Pat Mentioner', 'pat.mentioner@example.com');
      const bob = teamsUser(connector, 'Bob Smith', 'bob.smith@example.com');
      // Bob already uses Twitterprise from Slack: being mentioned must not move his DMs to Teams.
      await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'UBOB', email: bob.email, name: bob.name });
      await post(
        channelMessage({ serviceUrl: connector.serviceUrl, from: author, ...where, mentionBot: true, mentions: [bob], text: `shipping with ${mentionText(bob)} today` }),
      );
      const rows = await statusesOfBuild();
      expect(rows.map((r) => r.text)).toContain('shipping with @bob-smith today');
      expect(connector.requests.some((r) => r.method === 'GET' && r.path.endsWith(`/members/${bob.id}`))).toBe(true);
      const bobRow = await findIdentity(t.ctx, 'teams', TENANT, bob.aadObjectId);
      expect(bobRow?.person).toMatchObject({ handle: 'bob-smith', lastPlatform: 'slack' });
    });

    it('a post in a channel that publishes nothing, without a mention, is ignored entirely', async () => {
      const author = teamsUser(connector, 'Quiet Person', 'quiet.person@example.com');
      const activity = channelMessage({ serviceUrl: connector.serviceUrl, from: author, teamId: where.teamId, channelId: '19:random0002@thread.tacv2', text: 'lunch?' });
      await post(activity);
      expect(connector.requests).toHaveLength(0);
      expect(await findIdentity(t.ctx, 'teams', TENANT, author.aadObjectId)).toBeNull();
      const claimed = await t.database.db.select().from(processedEvents).where(eq(processedEvents.key, `teams:${TENANT}:${(activity.conversation as { id: string }).id}:${activity.id as string}`));
      expect(claimed).toHaveLength(0);
    });
  });

  describe('Approve / Deny buttons', () => {
    let ann: { user: TeamsUser; person: SourceRow };
    let requester: SourceRow;
    let n = 0;

    beforeAll(async () => {
      ann = await installed('Ann Payroll', 'ann.payroll@example.com');
      await createService(t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: [ann.person.handle] });
    });

    /** A new person asks to follow the protected @payroll. */
    async function pendingRequest(): Promise<string> {
      requester = await createPerson(t.ctx, { name: `Rex Requester ${++n}`, email: `rex${n}@example.com` });
      const target = await resolveTarget(t.ctx, '@payroll');
      const r = await follow(t.ctx, { subscriber: { kind: 'person', id: requester.id }, actor: { id: requester.id, isAdmin: false }, target, route: 'dm', via: 'api' });
      expect(r.pending).toBe(true);
      return r.follow.id;
    }

    /** The request card, sent the way the delivery worker sends it. */
    async function sendRequestCard(followId: string): Promise<string> {
      const found = await findIdentity(t.ctx, 'teams', TENANT, ann.user.aadObjectId);
      const outcome = await app.integration.messenger.sendToPerson(
        { personId: ann.person.id, platform: 'teams', tenant: TENANT, externalId: ann.user.aadObjectId, data: found!.identity.data },
        { kind: 'follow_request', followId, requester: { handle: requester.handle, name: requester.name }, source: { handle: 'payroll', name: 'Payroll' } },
      );
      if (outcome.kind !== 'sent' || !outcome.ref) throw new Error(`card not sent: ${JSON.stringify(outcome)}`);
      return teamsMessageRef.parse(outcome.ref).activityId;
    }

    it('Approve activates the follow and replaces the card with the outcome', async () => {
      const followId = await pendingRequest();
      const cardId = await sendRequestCard(followId);
      await post(cardSubmit({ serviceUrl: connector.serviceUrl, from: ann.user, value: { action: 'tp.approve', followId }, replyToId: cardId }));

      expect((await getFollow(t.ctx.db, followId))?.state).toBe('active');
      const put = connector.requests.find((r) => r.method === 'PUT');
      expect(put?.path).toBe(`/v3/conversations/${personalConversationId(ann.user)}/activities/${cardId}`);
      const card = connector.sent.find((s) => s.activityId === cardId)!;
      expect(card.updates).toHaveLength(1);
      expect(cardText(card.updates[0]!)).toContain(`Approved by @${ann.person.handle}`);
      expect((card.updates[0]!.attachments as { content: Card }[])[0]!.content.actions).toBeUndefined();
    });

    it('Deny removes the request', async () => {
      const followId = await pendingRequest();
      const cardId = await sendRequestCard(followId);
      await post(cardSubmit({ serviceUrl: connector.serviceUrl, from: ann.user, value: { action: 'tp.deny', followId }, replyToId: cardId }));
      expect(await getFollow(t.ctx.db, followId)).toBeNull();
      expect(cardText(connector.sent.find((s) => s.activityId === cardId)!.updates[0]!)).toContain(`Denied by @${ann.person.handle}`);
    });

    it('someone who may not decide is told so in a sentence, and nothing changes', async () => {
      const followId = await pendingRequest();
      const cardId = await sendRequestCard(followId);
      const stranger = await installed('Stan Stranger', 'stan@example.com');
      connector.reset();
      await post(cardSubmit({ serviceUrl: connector.serviceUrl, from: stranger.user, value: { action: 'tp.approve', followId }, replyToId: cardId }));
      expect((await getFollow(t.ctx.db, followId))?.state).toBe('pending');
      const [answer] = connector.messages(personalConversationId(stranger.user));
      expect(answer?.activity.text).toBe('Only @payroll or its owners can decide this request.');
    });

    it('a Universal Actions invoke decides too and answers with the new card', async () => {
      const followId = await pendingRequest();
      const r = await post(cardInvoke({ serviceUrl: connector.serviceUrl, from: ann.user, data: { action: 'tp.approve', followId } }));
      expect((await getFollow(t.ctx.db, followId))?.state).toBe('active');
      const body = JSON.parse(r.body) as { statusCode: number; type: string; value: Card };
      expect(body.statusCode).toBe(200);
      expect(body.type).toBe('application/vnd.microsoft.card.adaptive');
      expect(body.value.body.map((b) => b.text).join(' ')).toContain('Approved by');
    });
  });

  describe('errors', () => {
    it('a failure in a turn is answered with a sentence, never a stack trace', async () => {
      const user = teamsUser(connector, 'Err Person', 'err.person@example.com');
      connector.failNext({ method: 'GET', path: /\/members\//, status: 403 });
      const r = await post(personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'hello' }));
      expect(r.status).toBe(200);
      const [answer] = connector.messages(personalConversationId(user));
      expect(answer?.activity.text).toBe(SORRY);
    });

    it('refuses a body over 64 KiB', async () => {
      const user = teamsUser(null, 'Big Body', 'big@example.com');
      const r = await postActivity(app.baseUrl, personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'x'.repeat(70_000) }));
      expect(r.status).toBe(413);
      expect(connector.requests).toHaveLength(0);
    });

    it('without credentials, refuses a proxied request (authentication is off: local only)', async () => {
      const user = teamsUser(connector, 'Proxy Person', 'proxy@example.com');
      const r = await postActivity(app.baseUrl, personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'token' }), { 'x-forwarded-for': '203.0.113.9' });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({ status: 401, detail: expect.stringContaining('proxied') });
      expect(connector.requests).toHaveLength(0);
      expect(await findIdentity(t.ctx, 'teams', TENANT, user.aadObjectId)).toBeNull();
    });

    it('ignores activities from other channels than Teams', async () => {
      const user = teamsUser(connector, 'Web Chat', 'webchat@example.com');
      await post({ ...personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'hi' }), channelId: 'webchat' });
      expect(connector.requests).toHaveLength(0);
      expect(await t.database.db.select().from(sources).where(eq(sources.email, 'webchat@example.com'))).toHaveLength(0);
    });
  });
});
