import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPerson, findIdentity, getSourceByHandle } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { channels, follows, statuses, tokens } from '../../../src/db/schema.js';
import { FakeBotConnector } from '../../fakes/bot-connector.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import {
  TENANT,
  channelMessage,
  groupChatMessage,
  mentionText,
  personalConversationId,
  personalInstall,
  personalMessage,
  postActivity,
  startTeamsApp,
  teamsUser,
  type TeamsApp,
} from './helpers.js';

/** Commands from Teams through the shared executor (src/app/commands/execute.ts). */
describe('Teams commands', () => {
  let t: TestContext;
  let connector: FakeBotConnector;
  let app: TeamsApp;

  beforeAll(async () => {
    t = await createTestContext({ MICROSOFT_APP_ID: '' });
    connector = await FakeBotConnector.start();
    app = await startTeamsApp(t.ctx);
    await createPerson(t.ctx, { name: 'Olga Owner', email: 'olga@example.com' });
    await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['olga'] });
  });
  afterAll(async () => {
    await app?.close();
    await connector?.close();
    await t?.drop();
  });
  beforeEach(() => connector.reset());

  const post = async (activity: Record<string, unknown>) => {
    const r = await postActivity(app.baseUrl, activity);
    expect(r.status, r.body).toBe(200);
  };
  const replies = (conversationId: string) => connector.messages(conversationId).map((m) => m.activity.text as string);

  it('answers a command in the personal chat', async () => {
    const user = teamsUser(connector, 'Hana Help', 'hana@example.com');
    await post(personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'help' }));
    const [reply] = replies(personalConversationId(user));
    expect(reply).toMatch(/follow/);
    expect((await findIdentity(t.ctx, 'teams', TENANT, user.aadObjectId))?.person.handle).toBe('hana');
  });

  it('answers a mistake with the right usage', async () => {
    const user = teamsUser(connector, 'Uma Usage', 'uma@example.com');
    await post(personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'whois @nobody' }));
    expect(replies(personalConversationId(user))).toEqual(['@nobody is not a known handle. Try: whois @handle']);
  });

  it('answers an unknown command with the usage to try', async () => {
    const user = teamsUser(connector, 'Una Known', 'una@example.com');
    await post(personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'help frobnicate' }));
    const [reply] = replies(personalConversationId(user));
    expect(reply).toMatch(/"frobnicate" is not a command.*Try: help/s);
  });

  it('posts any other text as a status from Teams', async () => {
    const user = teamsUser(connector, 'Sid Status', 'sid@example.com');
    await post(personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'Working from the Berlin office today' }));
    const sid = await getSourceByHandle(t.ctx, 'sid');
    const rows = await t.database.db.select().from(statuses).where(eq(statuses.sourceId, sid!.id));
    expect(rows.map((r) => [r.text, r.platform])).toEqual([['Working from the Berlin office today', 'teams']]);
  });

  it('`channel follow` in a channel binds that channel and answers in the thread', async () => {
    const user = teamsUser(connector, 'Cara Channel', 'cara@example.com');
    const where = { teamId: '19:team0100@thread.tacv2', channelId: '19:ops0100@thread.tacv2', channelName: 'ops' };
    const activity = channelMessage({ serviceUrl: connector.serviceUrl, from: user, ...where, mentionBot: true, text: 'channel follow @build' });
    await post(activity);

    const [row] = await t.database.db.select().from(channels).where(and(eq(channels.platform, 'teams'), eq(channels.externalId, where.channelId)));
    expect(row).toMatchObject({ name: 'ops', tenant: TENANT });
    expect(row!.data).toMatchObject({ teamId: where.teamId, conversationReference: { conversation: { id: where.channelId } } });
    const build = await getSourceByHandle(t.ctx, 'build');
    const f = await t.database.db.select().from(follows).where(and(eq(follows.subscriberKind, 'channel'), eq(follows.subscriberId, row!.id)));
    expect(f.map((x) => x.target)).toEqual([build!.id]);
    // The answer goes into the thread the command started.
    const thread = (activity.conversation as { id: string }).id;
    expect(replies(thread)).toHaveLength(1);
  });

  it('a personal command typed in a channel is answered privately, with mentions turned into handles', async () => {
    const where = { teamId: '19:team0100@thread.tacv2', channelId: '19:general0100@thread.tacv2' };
    const dana = teamsUser(connector, 'Dana Follower', 'dana@example.com');
    const eli = teamsUser(connector, 'Eli Target', 'eli@example.com');
    await post(personalInstall({ serviceUrl: connector.serviceUrl, from: eli }));
    connector.reset();
    const activity = channelMessage({ serviceUrl: connector.serviceUrl, from: dana, ...where, mentionBot: true, mentions: [eli], text: `follow ${mentionText(eli)}` });
    await post(activity);

    const danaRow = (await findIdentity(t.ctx, 'teams', TENANT, dana.aadObjectId))!.person;
    const eliRow = (await findIdentity(t.ctx, 'teams', TENANT, eli.aadObjectId))!.person;
    const f = await t.database.db.select().from(follows).where(and(eq(follows.subscriberId, danaRow.id), eq(follows.target, eliRow.id)));
    expect(f).toHaveLength(1);
    // Dana has no 1:1 chat with the bot yet: one is opened for the answer; the channel stays quiet.
    expect(connector.conversations).toHaveLength(1);
    expect(connector.conversations[0]!.parameters).toMatchObject({ members: [{ id: dana.id }] });
    expect(connector.messages(connector.conversations[0]!.id)).toHaveLength(1);
    expect(replies((activity.conversation as { id: string }).id)).toHaveLength(0);
  });

  it('never shows a token in a channel', async () => {
    const user = teamsUser(connector, 'Tom Token', 'tom@example.com');
    const activity = groupChatMessage({ serviceUrl: connector.serviceUrl, from: user, chatId: '19:chat0100@thread.v2', mentionBot: true, text: 'token' });
    await post(activity);
    expect(replies('19:chat0100@thread.v2')).toEqual(['For your safety, ask me for a token in our personal chat, not here.']);
    const tom = (await findIdentity(t.ctx, 'teams', TENANT, user.aadObjectId))!.person;
    expect(await t.database.db.select().from(tokens).where(eq(tokens.sourceId, tom.id))).toHaveLength(0);
  });
});
