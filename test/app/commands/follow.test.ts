import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../../src/app/services.js';
import { postStatus } from '../../../src/app/statuses.js';
import { USAGE } from '../../../src/core/commands/usage.js';
import { blocks, consentLog, follows, outbox } from '../../../src/db/schema.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { fresh, person, reply, say } from './helpers.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
  for (const n of ['Ann', 'Ben', 'Cat', 'Dan', 'Eve', 'Fay']) await person(t, n);
  await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['ann'] });
  await createService(t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['ann'] });
});
afterAll(() => t.drop());

async function followOf(subscriber: string, targetHandle: string) {
  const s = await fresh(t, subscriber);
  const target = await fresh(t, targetHandle);
  const rows = await t.database.db
    .select()
    .from(follows)
    .where(and(eq(follows.subscriberKind, 'person'), eq(follows.subscriberId, s.id), eq(follows.targetKind, 'source'), eq(follows.target, target.id)));
  return rows[0] ?? null;
}

describe('follow and unfollow', () => {
  it('follows a public source into DMs, and records the consent', async () => {
    expect(await reply(t, 'ben', 'follow @Build')).toBe('You follow @build in your DMs.');
    expect(await followOf('ben', 'build')).toMatchObject({ state: 'active', route: 'dm', filters: [] });
    const ben = await fresh(t, 'ben');
    const consent = await t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, ben.id));
    expect(consent.map((c) => [c.action, c.object, c.via])).toEqual([['follow', '@build', 'slack']]);
  });

  it('"follow" again changes route and filters, and says the digest is off', async () => {
    expect(await reply(t, 'ben', 'follow @build +#deploy -flaky via email')).toBe(
      'Updated: you follow @build in your email digest with filters +#deploy -flaky. Your email digest is off: turn it on with "digest daily".',
    );
    expect(await followOf('ben', 'build')).toMatchObject({ state: 'active', route: 'email', filters: ['+#deploy', '-flaky'] });
    // Without "via" the route stays; the filters are what was given.
    expect(await reply(t, 'ben', 'follow @build')).toMatch(/^Updated: you follow @build in your email digest\. Your email digest is off/);
    expect(await followOf('ben', 'build')).toMatchObject({ route: 'email', filters: [] });
  });

  it('"via" takes several routes at once; "both" is dm+email; following again replaces them', async () => {
    expect(await reply(t, 'ben', 'follow @ann via sms+dm')).toMatch(/^(Updated: you|You) follow @ann in your DMs and text messages to your phone\./);
    expect(await followOf('ben', 'ann')).toMatchObject({ route: 'dm+sms' });
    // This server has no SMS provider: the answer says so (with one, it says how to add a number).
    expect(await reply(t, 'ben', 'follow @ann via sms+dm')).toMatch(/Texting is not set up on this server/);
    expect(await reply(t, 'ben', 'follow @ann via both + sms')).toMatch(/^Updated: you follow @ann in your DMs, your email digest and text messages to your phone\./);
    expect(await followOf('ben', 'ann')).toMatchObject({ route: 'dm+email+sms' });
    expect(await reply(t, 'ben', 'follow @ann via both')).toMatch(/^Updated: you follow @ann in your DMs and your email digest\./);
    expect(await followOf('ben', 'ann')).toMatchObject({ route: 'dm+email' });
    expect(await reply(t, 'ben', 'follow @ann via dm')).toBe('Updated: you follow @ann in your DMs.');
    expect(await reply(t, 'ben', 'follow @ann via dm+pager')).toMatch(/^"pager" is not a route/);
  });

  it('refuses following yourself', async () => {
    expect(await reply(t, 'ben', 'follow @ben')).toBe('You cannot follow yourself. Try: follow @handle');
  });

  it('follows and unfollows a tag', async () => {
    expect(await reply(t, 'cat', 'follow #Deploy via both')).toBe(
      'You follow #deploy in your DMs and your email digest. Your email digest is off: turn it on with "digest daily".',
    );
    expect(await reply(t, 'cat', 'unfollow #deploy')).toBe('You no longer follow #deploy.');
    expect(await reply(t, 'cat', 'unfollow #deploy')).toBe('You do not follow #deploy. Try: following');
  });

  it('unfollow (and leave) stop a follow', async () => {
    await reply(t, 'cat', 'follow @build');
    expect(await reply(t, 'cat', 'leave @build')).toBe('You no longer follow @build.');
    expect(await followOf('cat', 'build')).toBeNull();
    expect(await reply(t, 'cat', 'unfollow @build')).toBe('You do not follow @build. Try: following');
  });

  it('track and untrack a word', async () => {
    expect(await reply(t, 'cat', 'track Outage')).toBe('You track "outage": every status you may see that contains it comes in your DMs.');
    expect(await reply(t, 'cat', 'track outage')).toContain('You already track "outage"');
    const cat = await fresh(t, 'cat');
    const rows = await t.database.db.select().from(follows).where(and(eq(follows.subscriberId, cat.id), eq(follows.targetKind, 'word')));
    expect(rows.map((r) => [r.target, r.state])).toEqual([['outage', 'active']]);
    expect(await reply(t, 'cat', 'untrack outage')).toBe('You no longer track "outage".');
    expect(await reply(t, 'cat', 'untrack outage')).toBe('You do not track "outage". Try: following');
    const consent = await t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, cat.id));
    // Recorded as what was asked for (the second `track` changed nothing and says so in its detail).
    expect(consent.filter((c) => c.object.includes('outage')).map((c) => c.action)).toEqual(['track', 'track', 'untrack']);
  });
});

describe('protected sources: requests, approve, deny, block', () => {
  it('a follow of a protected source is a pending request that reaches the owners', async () => {
    expect(await reply(t, 'dan', 'follow @payroll')).toBe('@payroll is protected: your request to follow it was sent, and you will hear when it is decided.');
    const f = await followOf('dan', 'payroll');
    expect(f).toMatchObject({ state: 'pending' });
    const ob = await t.database.db.select().from(outbox).where(eq(outbox.event, 'follow.requested'));
    expect(ob.map((r) => r.payload.followId)).toContain(f!.id);
    expect(await reply(t, 'dan', 'following')).toContain('@payroll: in your DMs (waiting for approval)');
  });

  it('the owner sees the request; the requester cannot approve it', async () => {
    const r = await say(t, 'ann', 'requests');
    expect(r.lines).toEqual(['@dan asks to follow @payroll: "approve @dan" or "deny @dan"']);
    expect(await reply(t, 'dan', 'approve @dan')).toBe('You cannot decide your own follow request. Try: requests');
    expect(await reply(t, 'ben', 'approve @dan')).toBe('@dan has no pending follow request for you to decide. Try: requests');
    expect(await reply(t, 'dan', 'requests')).toBe('No follow requests are waiting for you.');
    expect(await followOf('dan', 'payroll')).toMatchObject({ state: 'pending' });
  });

  it('the owner approves; the requester is told', async () => {
    expect(await reply(t, 'ann', 'approve @Dan')).toBe("You approved @dan's request to follow @payroll.");
    expect(await followOf('dan', 'payroll')).toMatchObject({ state: 'active' });
    const dan = await fresh(t, 'dan');
    const notices = await t.database.db.select().from(outbox).where(eq(outbox.event, 'notice'));
    expect(notices.map((n) => n.payload)).toContainEqual(
      expect.objectContaining({ personId: dan.id, message: { kind: 'notice', text: '@payroll approved your follow request. You will now receive its statuses.' } }),
    );
    expect(await reply(t, 'ann', 'approve @dan')).toBe('@dan has no pending follow request for you to decide. Try: requests');
  });

  it('the owner denies; the request is gone', async () => {
    await reply(t, 'eve', 'follow @payroll');
    expect(await reply(t, 'ann', 'deny @eve')).toBe("You denied @eve's request to follow @payroll.");
    expect(await followOf('eve', 'payroll')).toBeNull();
  });

  it('withdrawing a request with unfollow says so', async () => {
    await reply(t, 'eve', 'follow @payroll');
    expect(await reply(t, 'eve', 'unfollow @payroll')).toBe('Your request to follow @payroll was withdrawn.');
  });

  it('protect on makes a person protected; block removes a follower for good', async () => {
    expect(await reply(t, 'fay', 'protect on')).toContain('Your statuses are now protected');
    expect((await fresh(t, 'fay')).visibility).toBe('protected');
    expect(await reply(t, 'eve', 'follow @fay')).toContain('your request to follow it was sent');
    expect(await reply(t, 'fay', 'block @eve')).toBe('You blocked @eve: they no longer follow you and cannot ask again.');
    expect(await followOf('eve', 'fay')).toBeNull();
    const [fay, eve] = [await fresh(t, 'fay'), await fresh(t, 'eve')];
    expect(await t.database.db.select().from(blocks).where(and(eq(blocks.sourceId, fay.id), eq(blocks.personId, eve.id)))).toHaveLength(1);
    expect(await reply(t, 'eve', 'follow @fay')).toBe('@fay does not accept your follow.');
    expect(await reply(t, 'fay', 'block @fay')).toBe('You cannot block yourself. Try: block @handle');
    expect(await reply(t, 'fay', 'protect off')).toBe('Your statuses are now public: anyone may follow you.');
    expect((await fresh(t, 'fay')).visibility).toBe('public');
  });

  it("block of a requester to an owned service blocks them from that service", async () => {
    await reply(t, 'cat', 'follow @payroll');
    expect(await reply(t, 'ann', 'block @cat')).toBe('You blocked @cat: they no longer follow @payroll and cannot ask again.');
    expect(await reply(t, 'cat', 'follow @payroll')).toBe('@payroll does not accept your follow.');
  });
});

describe('lists: following, followers, whois, get', () => {
  it('following shows route, filters and state', async () => {
    await reply(t, 'ben', 'follow @ann +#release');
    await reply(t, 'ben', 'track incident');
    await reply(t, 'ben', 'off @ann');
    const r = await say(t, 'ben', 'following');
    expect(r.title).toBe('You follow:');
    expect(r.lines).toEqual([
      '@ann: in your DMs with filters +#release (switched off)',
      '@build: in your email digest',
      '"incident": tracked, in your DMs',
    ]);
    expect(await reply(t, 'eve', 'following')).toBe('You follow nothing yet. Try: follow @handle, follow #tag or track <word>');
  });

  it('followers of yourself and of a source; a protected one shows only the count to others', async () => {
    expect(await say(t, 'ann', 'followers')).toMatchObject({ title: 'You have 1 follower:', lines: ['@ben'] });
    expect((await say(t, 'eve', 'followers @build')).lines).toEqual(['@ben']);
    expect(await reply(t, 'eve', 'followers @payroll')).toBe('@payroll has 1 follower.');
    expect((await say(t, 'dan', 'followers @payroll')).lines).toEqual(['@dan']);
    expect(await reply(t, 'eve', 'followers')).toBe('You have no followers yet.');
  });

  it('whois shows name, kind, owners, visibility and follower count', async () => {
    expect(await say(t, 'eve', 'whois @payroll')).toMatchObject({
      title: '@payroll: Payroll',
      lines: ['kind: service', 'owners: @ann', 'visibility: protected (followers need approval)', 'followers: 1'],
    });
    expect((await say(t, 'eve', 'whois @ann')).lines).toEqual(['kind: person', 'visibility: public', 'followers: 1']);
  });

  it("get (and last) show a source's latest status the asker may see", async () => {
    expect(await reply(t, 'eve', 'get @build')).toBe('@build has not posted anything yet.');
    const build = await fresh(t, 'build');
    await postStatus(t.ctx, { sourceId: build.id, text: 'first', platform: 'api' });
    t.clock.advance(1000);
    const { status } = await postStatus(t.ctx, { sourceId: build.id, text: 'Deploy 43 done', platform: 'api' });
    expect(await reply(t, 'eve', 'last @build')).toBe(`@build (Build server), ${status.created_at}:\nDeploy 43 done\n${status.url}`);
    const payroll = await fresh(t, 'payroll');
    await postStatus(t.ctx, { sourceId: payroll.id, text: 'salaries out', platform: 'api' });
    expect(await reply(t, 'eve', 'get @payroll')).toBe('@payroll is protected; only approved followers see its statuses.');
    expect(await reply(t, 'dan', 'get @payroll')).toContain('salaries out');
  });
});

describe('usage strings in app-level errors', () => {
  it('the parser still guards every command first', async () => {
    expect(await reply(t, 'ann', 'approve')).toBe(`"approve" needs a @handle. Try: ${USAGE.approve.usage}`);
  });
});
