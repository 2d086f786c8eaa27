import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertChannel } from '../../../src/app/channels.js';
import { follow, getFollow, resolveTarget } from '../../../src/app/follows.js';
import { createPerson, findIdentity, type SourceRow } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { channels, consentLog, follows, identities, processedEvents, sources, statuses } from '../../../src/db/schema.js';
import { ACTION_APPROVE, ACTION_DENY } from '../../../src/integrations/slack/scopes.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import {
  buttonPress,
  eventCallback,
  messageEvent,
  messageTs,
  newEventId,
  postToSlackEndpoint,
  sendEvent,
  sendInteraction,
  slackEnv,
  startSlackHarness,
  TEAM_ID,
  type SlackHarness,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

let fake: FakeSlackApi;
let t: TestContext;
let h: SlackHarness;
let owner: SourceRow;
let build: SourceRow;

beforeAll(async () => {
  fake = await startFakeSlackApi();
  t = await createTestContext(slackEnv(fake.apiUrl));
  h = await startSlackHarness(t.ctx);
  owner = await createPerson(t.ctx, { name: 'Olga Owner', email: 'olga@corp.com' });
  build = await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['olga'] }).then(async () => {
    const rows = await t.database.db.select().from(sources).where(eq(sources.handle, 'build'));
    return rows[0]!;
  });
  fake.addUser({ id: 'U100', name: 'jane', real_name: 'Jane Doe', tz: 'Europe/Berlin', profile: { email: 'Jane.Doe@corp.com' } });
  fake.addUser({ id: 'U200', name: 'sam', real_name: 'Sam Smith', tz: 'America/New_York', profile: { email: 'sam@corp.com' } });
  fake.addUser({ id: 'UOLGA', name: 'olga', real_name: 'Olga O.', tz: 'UTC', profile: { email: 'olga@corp.com' } });
  fake.addUser({ id: 'UMALLORY', name: 'mallory', real_name: 'Mallory', profile: { email: 'mallory@corp.com' } });
  // Profiles that claim Olga's address: one Slack has not confirmed, one of a Slack Connect guest.
  fake.addUser({ id: 'UFAKEOLGA', name: 'folga', real_name: 'Olga?', is_email_confirmed: false, profile: { email: 'olga@corp.com' } });
  fake.addUser({ id: 'USTRANGER', name: 'solga', real_name: 'Olga!', is_stranger: true, profile: { email: 'olga@corp.com' } });
});

afterAll(async () => {
  await h?.close();
  await fake?.stop();
  await t?.drop();
});

async function statusesOf(sourceId: string) {
  return t.database.db.select().from(statuses).where(eq(statuses.sourceId, sourceId));
}


describe('request verification', () => {
  const challenge = JSON.stringify({ token: 'x', challenge: 'c-123', type: 'url_verification' });

  it('answers url_verification with the challenge', async () => {
    const res = await postToSlackEndpoint(h.baseUrl, challenge, 'application/json');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ challenge: 'c-123' });
  });

  it('refuses a bad signature with 401', async () => {
    const res = await postToSlackEndpoint(h.baseUrl, challenge, 'application/json', { badSignature: true });
    expect(res.status).toBe(401);
  });

  it('refuses a correctly signed request older than five minutes with 401', async () => {
    const res = await postToSlackEndpoint(h.baseUrl, challenge, 'application/json', { ts: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(res.status).toBe(401);
  });

  it('refuses a request signed with another secret with 401', async () => {
    const res = await postToSlackEndpoint(h.baseUrl, challenge, 'application/json', { secret: 'not-the-secret' });
    expect(res.status).toBe(401);
  });

  it('refuses a body over 64 KiB with 413, even when signed', async () => {
    const big = JSON.stringify({ token: 'x', challenge: 'y'.repeat(65 * 1024), type: 'url_verification' });
    const res = await postToSlackEndpoint(h.baseUrl, big, 'application/json');
    expect(res.status).toBe(413);
  });

  it('refuses an unsigned request with 401', async () => {
    const res = await fetch(`${h.baseUrl}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: challenge });
    expect(res.status).toBe(401);
  });
});

describe('channel publish', () => {
  const channel = 'CBUILD';
  beforeAll(async () => {
    const row = await upsertChannel(t.ctx, { platform: 'slack', tenant: TEAM_ID, externalId: channel, name: 'builds' });
    await t.database.db.update(channels).set({ publishServiceId: build.id, publishedBy: owner.id }).where(eq(channels.id, row.id));
  });

  it('makes a new top-level message a status of the bound service, once, even when Slack retries the event', async () => {
    const ts = messageTs();
    const envelope = eventCallback(messageEvent({ user: 'U100', text: 'Deployed <@U200> &amp; friends to prod <https://ci.example/42|build 42>', channel, channel_type: 'channel', ts }));
    const first = await sendEvent(h.baseUrl, envelope);
    expect(first.status).toBe(200);
    const [status] = await waitUntil(async () => {
      const rows = await statusesOf(build.id);
      return rows.length ? rows : null;
    }, 'the published status');
    expect(status!.text).toBe('Deployed @sam & friends to prod https://ci.example/42');
    expect(status!.platform).toBe('slack');
    expect(status!.dedupeKey).toBe(`slack:${TEAM_ID}:${channel}:${ts}`);
    expect(status!.entities.mentions).toEqual(['sam']);
    const jane = await findIdentity(t.ctx, 'slack', TEAM_ID, 'U100');
    expect(status!.authorId).toBe(jane!.person.id);

    // Slack redelivers the same event (same event_id) with X-Slack-Retry-Num, twice.
    for (const retryNum of [1, 2]) {
      const again = await sendEvent(h.baseUrl, envelope, { retryNum });
      expect(again.status).toBe(200);
    }
    // A redelivery under a new event id (same message ts) is caught by the status dedupe key.
    const sameMessage = { ...envelope, event_id: newEventId() };
    await sendEvent(h.baseUrl, sameMessage);
    // Settle: a later message goes through, so the earlier ones have been handled by now.
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U100', text: 'second', channel, channel_type: 'channel' })));
    await waitUntil(async () => (await statusesOf(build.id)).length >= 2 && true, 'the second status');
    await waitUntil(async () => {
      const keys = await t.database.db.select().from(processedEvents);
      return keys.some((k) => k.key === `slack:${sameMessage.event_id as string}`);
    }, 'the redelivered event to be handled');
    const rows = await statusesOf(build.id);
    expect(rows.map((r) => r.text).sort()).toEqual(['Deployed @sam & friends to prod https://ci.example/42', 'second']);
  });

  it('ignores thread replies, edits, bot messages and channels that publish nothing', async () => {
    const before = (await statusesOf(build.id)).length;
    const parent = messageTs();
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U100', text: 'a reply', channel, channel_type: 'channel', thread_ts: parent })));
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U100', text: 'edited', channel, channel_type: 'channel', subtype: 'message_changed' })));
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U100', text: 'from a bot', channel, channel_type: 'channel', bot_id: 'B999' })));
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U100', text: 'elsewhere', channel: 'COTHER', channel_type: 'channel' })));
    // A message after them that does publish: once it is in, the ignored ones were handled before it.
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U100', text: 'marker', channel, channel_type: 'channel' })));
    const rows = await waitUntil(async () => {
      const r = await statusesOf(build.id);
      return r.some((s) => s.text === 'marker') ? r : null;
    }, 'the marker status');
    expect(rows).toHaveLength(before + 1);
  });

  it('tells the author privately when a message cannot be a status', async () => {
    await sendEvent(h.baseUrl, eventCallback(messageEvent({ user: 'U100', text: 'x'.repeat(1001), channel, channel_type: 'channel' })));
    const call = await fake.waitForCall('chat.postEphemeral', (c) => c.params.user === 'U100');
    expect(call.params.channel).toBe(channel);
    expect(String(call.params.text)).toMatch(/Not published as @build: A status is at most 1,000 characters/);
  });
});

describe('the bot removed from a channel', () => {
  it("ends that channel's follows and its publishing, in the consent record, and no other channel's", async () => {
    const gone = await upsertChannel(t.ctx, { platform: 'slack', tenant: TEAM_ID, externalId: 'CGONE', name: 'gone' });
    const stays = await upsertChannel(t.ctx, { platform: 'slack', tenant: TEAM_ID, externalId: 'CSTAYS', name: 'stays' });
    await t.database.db.update(channels).set({ publishServiceId: build.id, publishedBy: owner.id }).where(eq(channels.id, gone.id));
    for (const ch of [gone, stays]) {
      await follow(t.ctx, { subscriber: { kind: 'channel', id: ch.id }, actor: owner, target: await resolveTarget(t.ctx, '@build'), route: 'channel', via: 'slack' });
      await follow(t.ctx, { subscriber: { kind: 'channel', id: ch.id }, actor: owner, target: await resolveTarget(t.ctx, '#deploy'), route: 'channel', via: 'slack' });
    }
    const followsOf = (id: string) => t.database.db.select().from(follows).where(and(eq(follows.subscriberKind, 'channel'), eq(follows.subscriberId, id)));

    const envelope = eventCallback({ type: 'channel_left', channel: 'CGONE', actor_id: 'UOLGA' });
    expect((await sendEvent(h.baseUrl, envelope)).status).toBe(200);
    await waitUntil(async () => (await followsOf(gone.id)).length === 0, 'the follows ended');
    expect(await followsOf(stays.id)).toHaveLength(2);
    const [row] = await t.database.db.select().from(channels).where(eq(channels.id, gone.id));
    expect(row).toMatchObject({ publishServiceId: null, publishedBy: null });
    const consent = await t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, gone.id));
    expect(consent.filter((c) => c.action === 'unfollow').map((c) => [c.object, c.actorId, c.via, c.detail])).toEqual(
      expect.arrayContaining([
        ['@build', null, 'slack', { subscriberKind: 'channel', reason: 'the app was removed by UOLGA' }],
        ['#deploy', null, 'slack', { subscriberKind: 'channel', reason: 'the app was removed by UOLGA' }],
      ]),
    );
    // A private channel says group_left; a repeat changes nothing.
    const priv = await upsertChannel(t.ctx, { platform: 'slack', tenant: TEAM_ID, externalId: 'GPRIV', name: 'private' });
    await follow(t.ctx, { subscriber: { kind: 'channel', id: priv.id }, actor: owner, target: await resolveTarget(t.ctx, '@build'), route: 'channel', via: 'slack' });
    for (let i = 0; i < 2; i++) expect((await sendEvent(h.baseUrl, eventCallback({ type: 'group_left', channel: 'GPRIV' }))).status).toBe(200);
    await waitUntil(async () => (await followsOf(priv.id)).length === 0, 'the private channel follow ended');
    expect((await t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, priv.id))).filter((c) => c.action === 'unfollow')).toHaveLength(1);
  });
});

describe('identity', () => {
  it('links a new Slack user through users.info, with email, name and time zone, and asks Slack only once', async () => {
    // U100 (Jane) appeared as an author above: one users.info call made her a person.
    const found = await findIdentity(t.ctx, 'slack', TEAM_ID, 'U100');
    expect(found).not.toBeNull();
    expect(found!.person).toMatchObject({ handle: 'jane-doe', email: 'jane.doe@corp.com', name: 'Jane Doe', timezone: 'Europe/Berlin' });
    expect(fake.callsOf('users.info').filter((c) => c.params.user === 'U100')).toHaveLength(1);
    expect(fake.callsOf('users.info')[0]!.token).toBe('xoxb-test-token');
  });

  it('joins a Slack user to the existing person with the same email', async () => {
    await sendEvent(h.baseUrl, eventCallback({ type: 'app_home_opened', user: 'UOLGA', channel: 'DOLGA', tab: 'home' }));
    await fake.waitForCall('views.publish', (c) => c.params.user_id === 'UOLGA');
    const found = await findIdentity(t.ctx, 'slack', TEAM_ID, 'UOLGA');
    expect(found!.person.id).toBe(owner.id);
    const rows = await t.database.db.select().from(identities).where(and(eq(identities.personId, owner.id)));
    expect(rows).toHaveLength(1);
  });

  it('joins by email only when Slack says it is confirmed and the user is of this organisation', async () => {
    for (const user of ['UFAKEOLGA', 'USTRANGER']) {
      await sendEvent(h.baseUrl, eventCallback({ type: 'app_home_opened', user, channel: `D${user}`, tab: 'home' }));
      await fake.waitForCall('views.publish', (c) => c.params.user_id === user);
      const found = await findIdentity(t.ctx, 'slack', TEAM_ID, user);
      expect(found!.person.id).not.toBe(owner.id);
      expect(found!.person.email).toBeNull();
    }
    const rows = await t.database.db.select().from(identities).where(eq(identities.personId, owner.id));
    expect(rows.map((r) => r.externalId)).toEqual(['UOLGA']);
  });
});

describe('App Home', () => {
  it('publishes the home tab with the person, their settings, follows and recent statuses', async () => {
    const jane = (await findIdentity(t.ctx, 'slack', TEAM_ID, 'U100'))!.person;
    await follow(t.ctx, {
      subscriber: { kind: 'person', id: jane.id },
      actor: { id: jane.id, isAdmin: false },
      target: await resolveTarget(t.ctx, '@build'),
      route: 'dm',
      via: 'slack',
    });
    await sendEvent(h.baseUrl, eventCallback({ type: 'app_home_opened', user: 'U100', channel: 'D100', tab: 'home' }));
    const call = await fake.waitForCall('views.publish', (c) => c.params.user_id === 'U100');
    const view = call.params.view as { type: string; blocks: unknown[] };
    expect(view.type).toBe('home');
    const text = JSON.stringify(view.blocks);
    expect(text).toContain('@jane-doe');
    expect(text).toContain('@build via dm');
    expect(text).toContain('second'); // a status of @build, from the home timeline
    expect(text).toContain('Email digest');
  });

  it('does nothing for the Messages tab', async () => {
    const before = fake.callsOf('views.publish').length;
    await sendEvent(h.baseUrl, eventCallback({ type: 'app_home_opened', user: 'U100', channel: 'D100', tab: 'messages' }));
    await sendEvent(h.baseUrl, eventCallback({ type: 'app_home_opened', user: 'U100', channel: 'D100', tab: 'home' }));
    await fake.waitFor(() => fake.callsOf('views.publish').length > before, 5000, 'the home tab');
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.callsOf('views.publish')).toHaveLength(before + 1);
  });
});

describe('follow request buttons', () => {
  let secret: SourceRow;
  beforeAll(async () => {
    await createService(t.ctx, { handle: 'secret', name: 'Secret project', visibility: 'protected', owners: ['olga'] });
    secret = (await t.database.db.select().from(sources).where(eq(sources.handle, 'secret')))[0]!;
  });

  async function requestBy(handle: string, email: string) {
    const p = await createPerson(t.ctx, { name: handle, email, handle });
    const r = await follow(t.ctx, {
      subscriber: { kind: 'person', id: p.id },
      actor: { id: p.id, isAdmin: false },
      target: await resolveTarget(t.ctx, '@secret'),
      route: 'dm',
      via: 'slack',
    });
    expect(r.pending).toBe(true);
    return r.follow.id;
  }

  it('Approve by an owner activates the follow and replaces the buttons with the outcome', async () => {
    const followId = await requestBy('reqa', 'reqa@corp.com');
    const res = await sendInteraction(h.baseUrl, buttonPress({ userId: 'UOLGA', actionId: ACTION_APPROVE, value: followId, responseUrl: fake.responseUrl('approve-1') }));
    expect(res.status).toBe(200);
    const posted = await fake.waitForResponse('approve-1');
    expect(posted.body.replace_original).toBe(true);
    expect(String(posted.body.text)).toBe("You approved @reqa's request to follow @secret.");
    expect((await getFollow(t.database.db, followId))?.state).toBe('active');
  });

  it('Deny by an owner removes the request', async () => {
    const followId = await requestBy('reqd', 'reqd@corp.com');
    await sendInteraction(h.baseUrl, buttonPress({ userId: 'UOLGA', actionId: ACTION_DENY, value: followId, responseUrl: fake.responseUrl('deny-1') }));
    const posted = await fake.waitForResponse('deny-1');
    expect(String(posted.body.text)).toBe("You denied @reqd's request to follow @secret.");
    expect(await getFollow(t.database.db, followId)).toBeNull();
  });

  it('someone who is not an owner is refused privately and the request stays pending', async () => {
    const followId = await requestBy('reqm', 'reqm@corp.com');
    await sendInteraction(h.baseUrl, buttonPress({ userId: 'UMALLORY', actionId: ACTION_APPROVE, value: followId, responseUrl: fake.responseUrl('mallory-1') }));
    const posted = await fake.waitForResponse('mallory-1');
    expect(posted.body.replace_original).toBe(false);
    expect(posted.body.response_type).toBe('ephemeral');
    expect(String(posted.body.text)).toContain('Only @secret or its owners');
    expect((await getFollow(t.database.db, followId))?.state).toBe('pending');
    expect(secret.visibility).toBe('protected');
  });

  it('a button pressed with a bad signature changes nothing', async () => {
    const followId = await requestBy('reqx', 'reqx@corp.com');
    const res = await sendInteraction(h.baseUrl, buttonPress({ userId: 'UOLGA', actionId: ACTION_APPROVE, value: followId, responseUrl: fake.responseUrl('x-1') }), { badSignature: true });
    expect(res.status).toBe(401);
    expect((await getFollow(t.database.db, followId))?.state).toBe('pending');
  });
});
