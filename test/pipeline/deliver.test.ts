import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { writeOutbox } from '../../src/app/outbox.js';
import { deleteStatus } from '../../src/app/statuses.js';
import type { OutboundMessage } from '../../src/core/messages.js';
import { deliveries, sources } from '../../src/db/schema.js';
import { createWebhookChannel } from '../../src/integrations/webhooks/channel.js';
import { createPipeline, defaultChannels, type Pipeline } from '../../src/pipeline/index.js';
import { jobIds } from '../../src/pipeline/queues.js';
import { releaseHeld } from '../../src/pipeline/release.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { REDIS_URL } from '../helpers/db.js';
import { addChannel, addFollow, addIdentity, addPerson, addService, deliveryFor, getDelivery, post, RecordingMessenger, waitUntil } from './helpers.js';

let t: TestContext;
let ctx: AppContext;
let pipeline: Pipeline;
const slack = new RecordingMessenger('slack');
const teams = new RecordingMessenger('teams');

beforeAll(async () => {
  t = await createTestContext();
  let kick = () => {};
  ctx = { ...t.ctx, kick: () => kick() };
  const messengers = { slack, teams };
  const channels = defaultChannels({ ctx, messengers });
  pipeline = await createPipeline({
    ctx,
    redisUrl: REDIS_URL,
    prefix: t.prefix,
    messengers,
    role: 'all',
    // Chat backoff is seconds to minutes; the tests keep the attempts and shorten the waits.
    channels: { webhook: createWebhookChannel({ ctx }), dm: { ...channels.dm, backoffMs: () => 20 }, channel: { ...channels.channel, backoffMs: () => 20 } },
  });
  kick = () => pipeline.kick();
});

beforeEach(() => {
  for (const m of [slack, teams]) {
    m.sent.length = 0;
    m.calls.length = 0;
    m.retracted.length = 0;
  }
});

afterAll(async () => {
  // Closing the test's context (t.drop) deletes its Redis prefix too.
  await pipeline?.close();
  await t?.drop();
});

async function settled(statusId: string, subscriberId: string, route = 'dm') {
  return waitUntil(async () => {
    const [d] = await deliveryFor(ctx, statusId, subscriberId, route);
    return d && d.state !== 'queued' && d.state !== 'retrying' ? d : null;
  }, `delivery of ${statusId} to ${subscriberId}`);
}

const statusMessages = (m: RecordingMessenger) => m.sent.map((s) => s.message).filter((x): x is Extract<OutboundMessage, { kind: 'status' }> => x.kind === 'status');

describe('DMs and channel posts', () => {
  it("reaches a person on both platforms when they ask for both, saying why and how to stop", async () => {
    const svc = await addService(ctx, 'build');
    const p = await addPerson(ctx, 'both-person', { dmPreference: 'both' });
    await addIdentity(ctx, p.id, 'slack', 'U1');
    await addIdentity(ctx, p.id, 'teams', 'aad-1');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
    const s = await post(ctx, svc.id, 'Build 7 passed');
    const d = await settled(s.id, p.id);
    expect(d.state).toBe('sent');
    expect(d.attempts).toBe(1);
    expect(d.refs.map((r) => r.platform).sort()).toEqual(['slack', 'teams']);
    const [m] = statusMessages(slack);
    expect(m).toMatchObject({ why: 'You follow @build', offHint: 'Turn off: off @build', status: { id: s.id, text: 'Build 7 passed', source: { handle: 'build' } } });
    expect(statusMessages(teams)).toHaveLength(1);
  });

  it('goes only where the person last spoke to the app with the default preference', async () => {
    const svc = await addService(ctx, 'lastsvc');
    const p = await addPerson(ctx, 'last-person', { lastPlatform: 'teams' });
    await addIdentity(ctx, p.id, 'slack', 'U2');
    await addIdentity(ctx, p.id, 'teams', 'aad-2');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
    const s = await post(ctx, svc.id, 'hello there');
    expect((await settled(s.id, p.id)).state).toBe('sent');
    expect(teams.sent.map((x) => (x.to as { externalId: string }).externalId)).toEqual(['aad-2']);
    expect(slack.sent).toHaveLength(0);
  });

  it('explains tag and word follows, and posts to following channels', async () => {
    const svc = await addService(ctx, 'ops');
    const tagger = await addPerson(ctx, 'tagger');
    const tracker = await addPerson(ctx, 'tracker');
    await addIdentity(ctx, tagger.id, 'slack', 'U3');
    await addIdentity(ctx, tracker.id, 'slack', 'U4');
    const room = await addChannel(ctx, 'slack', 'C9');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: tagger.id, targetKind: 'tag', target: 'incident' });
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: tracker.id, targetKind: 'word', target: 'outage' });
    await addFollow(ctx, { subscriberKind: 'channel', subscriberId: room.id, target: svc.id });
    const s = await post(ctx, svc.id, 'Partial outage in EU #incident');
    await settled(s.id, tagger.id);
    await settled(s.id, tracker.id);
    expect((await settled(s.id, room.id, 'channel')).state).toBe('sent');
    const byWhy = statusMessages(slack).map((m) => `${m.why} | ${m.offHint}`).sort();
    expect(byWhy).toEqual(
      ['This channel follows @ops | Turn off: channel unfollow @ops', 'You follow #incident | Turn off: off #incident', 'You track "outage" | Turn off: untrack outage'].sort(),
    );
    expect(slack.sent.find((x) => x.kind === 'channel')!.to).toMatchObject({ channelId: room.id, externalId: 'C9' });
  });

  it('skips, with the reason, a person no messenger can reach', async () => {
    const svc = await addService(ctx, 'lonely');
    const p = await addPerson(ctx, 'no-chat');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
    const s = await post(ctx, svc.id, 'anyone?');
    expect(await settled(s.id, p.id)).toMatchObject({ state: 'skipped', reason: 'no Slack or Teams account linked' });
  });
});

/** A service and one person following it, reachable by Slack DM. */
async function oneFollower(handle: string) {
  const svc = await addService(ctx, `${handle}-src`);
  const p = await addPerson(ctx, handle);
  await addIdentity(ctx, p.id, 'slack', `U-${handle}`);
  await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
  return { svc, p };
}

describe('outcomes', () => {
  it('waits out 429s job by job without using up attempts', async () => {
    const { svc, p } = await oneFollower('throttled');
    // More 429s than the DM route has attempts (5): only a budget-free delay gets through.
    const rateLimited = Array.from({ length: 7 }, () => ({ kind: 'retry' as const, error: 'ratelimited', retryAfterMs: 10 }));
    slack.answer(...rateLimited);
    const s = await post(ctx, svc.id, 'slow down');
    const d = await settled(s.id, p.id);
    expect(d.state).toBe('sent');
    expect(slack.calls).toHaveLength(8);
    expect(d.attempts).toBe(8);
  });

  it('in a batch, throttled DMs leave it for jobs of their own and still use up no attempts', async () => {
    const svc = await addService(ctx, 'crowd-src');
    const people = [];
    for (const h of ['crowd-a', 'crowd-b', 'crowd-c']) {
      const p = await addPerson(ctx, h);
      await addIdentity(ctx, p.id, 'slack', `U-${h}`);
      await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
      people.push(p);
    }
    // Seven 429s, more than the DM route's five attempts, shared by whichever sends come first.
    slack.answer(...Array.from({ length: 7 }, () => ({ kind: 'retry' as const, error: 'ratelimited', retryAfterMs: 10 })));
    const s = await post(ctx, svc.id, 'to three people at once');
    const ds = await Promise.all(people.map((p) => settled(s.id, p.id)));
    expect(ds.map((d) => d.state)).toEqual(['sent', 'sent', 'sent']);
    expect(slack.calls).toHaveLength(10);
    expect(ds.reduce((n, d) => n + d.attempts, 0)).toBe(10);
    // Each DM landed once and its message reference was kept (to retract it later).
    expect(statusMessages(slack)).toHaveLength(3);
    expect(ds.every((d) => d.refs.length === 1)).toBe(true);
  });

  it('retries with backoff and fails after the last attempt', async () => {
    const { svc, p } = await oneFollower('flaky');
    slack.answer(...Array.from({ length: 5 }, () => ({ kind: 'retry' as const, error: 'service_unavailable' })));
    const s = await post(ctx, svc.id, 'will not arrive');
    const d = await settled(s.id, p.id);
    expect(d).toMatchObject({ state: 'failed', attempts: 5, lastError: 'service_unavailable' });
    expect(slack.calls).toHaveLength(5);
  });

  it('recovers on a later attempt', async () => {
    const { svc, p } = await oneFollower('recovers');
    slack.answer({ kind: 'retry', error: 'timeout' }, { kind: 'retry', error: 'timeout' });
    const s = await post(ctx, svc.id, 'third time lucky');
    expect(await settled(s.id, p.id)).toMatchObject({ state: 'sent', attempts: 3 });
  });

  it('fails at once on a permanent failure', async () => {
    const { svc, p } = await oneFollower('broken');
    slack.answer({ kind: 'fail', reason: 'account_inactive' });
    const s = await post(ctx, svc.id, 'nope');
    expect(await settled(s.id, p.id)).toMatchObject({ state: 'failed', attempts: 1, lastError: 'account_inactive' });
    expect(slack.calls).toHaveLength(1);
  });

  it('retracts the chat messages of a deleted status', async () => {
    const { svc, p } = await oneFollower('retracted');
    const s = await post(ctx, svc.id, 'posted by mistake');
    const d = await settled(s.id, p.id);
    expect(d.refs).toHaveLength(1);
    await deleteStatus(ctx, { id: null, isAdmin: true }, s.id);
    await waitUntil(() => slack.retracted.length === 1, 'the retraction');
    expect(slack.retracted[0]).toEqual(d.refs[0]);
    await waitUntil(async () => (await getDelivery(ctx, d.id)).refs.length === 0, 'refs cleared');
  });
});

describe('a status deleted while its DM is on its way', () => {
  it('takes the DM back once it has landed', async () => {
    const { svc, p } = await oneFollower('in-flight');
    let statusId = '';
    slack.hold = async () => {
      await deleteStatus(ctx, { id: null, isAdmin: true }, statusId);
      // The deletion's fan-out has been: it found the delivery still queued and marked it skipped.
      await waitUntil(async () => (await deliveryFor(ctx, statusId, p.id))[0]?.state === 'skipped', 'the deletion passing the delivery');
    };
    const s = await post(ctx, svc.id, 'gone while on its way');
    statusId = s.id;
    await waitUntil(() => slack.retracted.length === 1, 'the retraction of the late DM');
    const [d] = await deliveryFor(ctx, s.id, p.id);
    expect(statusMessages(slack).map((m) => m.status.id)).toEqual([s.id]);
    expect(slack.retracted[0]).toMatchObject({ platform: 'slack' });
    expect(d).toMatchObject({ state: 'sent', attempts: 1 });
    await waitUntil(async () => (await getDelivery(ctx, d!.id)).refs.length === 0, 'refs cleared');
  });
});

describe('notices and follow requests', () => {
  it('sends a notice from the outbox as a DM', async () => {
    const p = await addPerson(ctx, 'told');
    await addIdentity(ctx, p.id, 'teams', 'aad-told');
    await ctx.db.transaction((tx) => writeOutbox(tx, { event: 'notice', payload: { personId: p.id, message: { kind: 'notice', text: '@x approved your follow request.' }, key: 'n1' } }));
    ctx.kick();
    await waitUntil(() => teams.sent.length === 1, 'the notice');
    expect(teams.sent[0]!.message).toEqual({ kind: 'notice', text: '@x approved your follow request.' });
  });

  it('asks the owner of a protected source to approve, even in their quiet hours', async () => {
    const owner = await addPerson(ctx, 'guardian', { quietStart: '00:00', quietEnd: '23:59' });
    await addIdentity(ctx, owner.id, 'slack', 'U-guardian');
    const vault = await addService(ctx, 'vault', [owner.id], { visibility: 'protected' });
    const asker = await addPerson(ctx, 'asker');
    const f = await addFollow(ctx, { subscriberKind: 'person', subscriberId: asker.id, target: vault.id, state: 'pending' });
    await ctx.db.transaction((tx) => writeOutbox(tx, { event: 'follow.requested', payload: { followId: f.id } }));
    ctx.kick();
    await waitUntil(() => slack.sent.length === 1, 'the follow request');
    expect(slack.sent[0]!.message).toMatchObject({ kind: 'follow_request', followId: f.id, requester: { handle: 'asker' }, source: { handle: 'vault' } });
  });
});

describe('quiet hours', () => {
  beforeEach(() => t.clock.set('2026-11-23T10:00:00Z'));

  it('holds status DMs until the quiet period ends, then sends one summary', async () => {
    // The test clock stands at 10:00 UTC.
    const svc = await addService(ctx, 'nightly');
    const p = await addPerson(ctx, 'sleeper', { quietStart: '09:00', quietEnd: '11:00' });
    await addIdentity(ctx, p.id, 'slack', 'U-sleeper');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
    const s1 = await post(ctx, svc.id, 'first while asleep');
    t.clock.advance(60_000);
    const s2 = await post(ctx, svc.id, 'second while asleep');
    const until = new Date('2026-11-23T11:00:00Z');
    for (const s of [s1, s2]) {
      await waitUntil(async () => (await deliveryFor(ctx, s.id, p.id))[0]?.holdUntil?.getTime() === until.getTime(), 'the hold');
    }
    expect(slack.calls).toHaveLength(0);
    expect((await deliveryFor(ctx, s1.id, p.id))[0]!.state).toBe('queued');
    // One release job for the person and that moment, however many statuses were held.
    const jobs = await pipeline.queues.release.getJobs(['delayed']);
    expect(jobs.filter((j) => j.data.personId === p.id).map((j) => j.id)).toEqual([jobIds.release(p.id, until)]);

    t.clock.set('2026-11-23T11:00:30Z');
    await jobs.find((j) => j.data.personId === p.id)!.promote();
    await waitUntil(() => slack.sent.length === 1, 'the summary');
    const m = slack.sent[0]!.message;
    expect(m).toMatchObject({ kind: 'summary', more: 0 });
    expect(m.kind === 'summary' && m.items.map((i) => i.text)).toEqual(['first while asleep', 'second while asleep']);
    for (const s of [s1, s2]) {
      await waitUntil(async () => (await deliveryFor(ctx, s.id, p.id))[0]?.state === 'sent', 'held deliveries sent');
    }
    // Nothing is left to release.
    expect(await releaseHeld({ ctx, messengers: { slack } }, p.id)).toMatchObject({ released: 0, outcome: 'nothing' });
  });

  it('releases what was held before now, and leaves what is still held', async () => {
    const { svc, p } = await oneFollower('held-person');
    // Quiet from now on: posts are held (released at 11:00).
    await ctx.db.update(sources).set({ quietStart: '09:00', quietEnd: '11:00' }).where(eq(sources.id, p.id));
    const s = await post(ctx, svc.id, 'held one');
    await waitUntil(async () => !!(await deliveryFor(ctx, s.id, p.id))[0]?.holdUntil, 'the hold');
    expect(await releaseHeld({ ctx, messengers: { slack } }, p.id)).toMatchObject({ released: 0 });
    // hold_until in the past: released now.
    await ctx.db.update(deliveries).set({ holdUntil: new Date('2026-11-23T09:59:00Z') }).where(and(eq(deliveries.statusId, s.id), eq(deliveries.subscriberId, p.id)));
    expect(await releaseHeld({ ctx, messengers: { slack } }, p.id)).toMatchObject({ released: 1, outcome: 'sent' });
    expect(slack.sent[0]!.message).toMatchObject({ kind: 'summary', title: 'While you were in quiet hours: 1 status' });
  });

  it('counts every released delivery in the metrics, not one per release', async () => {
    const { svc, p } = await oneFollower('counted-person');
    await ctx.db.update(sources).set({ quietStart: '09:00', quietEnd: '11:00' }).where(eq(sources.id, p.id));
    const held = [await post(ctx, svc.id, 'one'), await post(ctx, svc.id, 'two'), await post(ctx, svc.id, 'three')];
    for (const s of held) await waitUntil(async () => !!(await deliveryFor(ctx, s.id, p.id))[0]?.holdUntil, 'the hold');
    await ctx.db.update(deliveries).set({ holdUntil: new Date('2026-11-23T09:59:00Z') }).where(eq(deliveries.subscriberId, p.id));
    const counted: Record<string, number> = {};
    const metrics = { statusesAccepted: { inc: () => {} }, deliveries: { inc: (l: { state: string }, n = 1) => void (counted[l.state] = (counted[l.state] ?? 0) + n) } };
    expect(await releaseHeld({ ctx, messengers: { slack }, metrics }, p.id)).toMatchObject({ released: 3, outcome: 'sent' });
    expect(counted).toEqual({ sent: 3 });
  });

  it('holds a direct message from another person, never into the digest, and sends it as itself when quiet ends', async () => {
    const p = await addPerson(ctx, 'dm-sleeper', { quietStart: '09:00', quietEnd: '11:00', quietToDigest: true });
    await addIdentity(ctx, p.id, 'slack', 'U-dm-sleeper');
    const message = { kind: 'direct' as const, from: { handle: 'dora', name: 'Dora' }, text: 'lunch at 12?' };
    await ctx.db.transaction((tx) => writeOutbox(tx, { event: 'notice', payload: { personId: p.id, message } }));
    ctx.kick();
    const noticeTo = async () => (await ctx.db.select().from(deliveries).where(and(eq(deliveries.subscriberId, p.id), eq(deliveries.event, 'notice'))))[0];
    const until = new Date('2026-11-23T11:00:00Z');
    await waitUntil(async () => (await noticeTo())?.holdUntil?.getTime() === until.getTime(), 'the hold');
    expect(await noticeTo()).toMatchObject({ route: 'dm', state: 'queued' });
    expect(slack.calls).toHaveLength(0);
    expect(await releaseHeld({ ctx, messengers: { slack } }, p.id)).toMatchObject({ released: 0, outcome: 'nothing' });

    t.clock.set('2026-11-23T11:00:30Z');
    expect(await releaseHeld({ ctx, messengers: { slack } }, p.id)).toMatchObject({ released: 1, outcome: 'sent' });
    expect(slack.sent.map((x) => x.message)).toEqual([message]);
    expect(await noticeTo()).toMatchObject({ state: 'sent', holdUntil: null });
  });

  it('skips a direct message to a person who switched off', async () => {
    const p = await addPerson(ctx, 'dm-off', { switchedOff: true });
    await addIdentity(ctx, p.id, 'slack', 'U-dm-off');
    await ctx.db.transaction((tx) =>
      writeOutbox(tx, { event: 'notice', payload: { personId: p.id, message: { kind: 'direct', from: { handle: 'dora', name: 'Dora' }, text: 'hello?' } } }),
    );
    ctx.kick();
    const d = await waitUntil(
      async () => (await ctx.db.select().from(deliveries).where(and(eq(deliveries.subscriberId, p.id), eq(deliveries.state, 'skipped'))))[0],
      'the skip',
    );
    expect(d).toMatchObject({ event: 'notice', reason: 'switched off' });
    expect(slack.calls).toHaveLength(0);
  });

  it('moves a quiet-hours DM into the digest when the person asked for that', async () => {
    const svc = await addService(ctx, 'digested');
    const p = await addPerson(ctx, 'digest-sleeper', { quietStart: '09:00', quietEnd: '11:00', quietToDigest: true });
    await addIdentity(ctx, p.id, 'slack', 'U-ds');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
    const s = await post(ctx, svc.id, 'read it tomorrow');
    const d = await waitUntil(async () => (await deliveryFor(ctx, s.id, p.id, 'email'))[0], 'the digest entry');
    expect(d).toMatchObject({ state: 'queued', holdUntil: null, attempts: 0 });
    expect(slack.calls).toHaveLength(0);
  });
});
