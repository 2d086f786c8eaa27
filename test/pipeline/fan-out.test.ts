import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { deliveries, follows, sources } from '../../src/db/schema.js';
import { createEnqueuer } from '../../src/pipeline/enqueue.js';
import { fanOut, type FanOutDeps } from '../../src/pipeline/fan-out.js';
import { createQueues, type Queues } from '../../src/pipeline/queues.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { REDIS_URL } from '../helpers/db.js';
import { addChannel, addFollow, addPerson, addService, addWebhook, deliveriesOf, deliveryFor, post } from './helpers.js';

let t: TestContext;
let queues: Queues;
let deps: FanOutDeps;

beforeAll(async () => {
  t = await createTestContext();
  queues = createQueues(REDIS_URL, t.prefix);
  deps = { ctx: t.ctx, enqueue: createEnqueuer(queues, { dm: 5, email: 1, channel: 5, webhook: 3, sms: 5, xmpp: 5 }) };
});

beforeEach(async () => {
  await queues.deliver.drain(true);
  await queues.deliverBatch.drain(true);
  await queues.retract.drain(true);
});

afterAll(async () => {
  // Closing the test's context (t.drop) deletes its Redis prefix too.
  await queues?.close();
  await t?.drop();
});

const created = (statusId: string) => ({ outboxId: 1, event: 'status.created' as const, payload: { statusId } });

async function jobIds(): Promise<string[]> {
  const jobs = await queues.deliver.getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.map((j) => j.id!).sort();
}

async function batchJobs() {
  return queues.deliverBatch.getJobs(['waiting', 'delayed', 'prioritized']);
}

/** Every delivery id in a deliver job, lone or batched. */
async function enqueued(): Promise<string[]> {
  const lone = await queues.deliver.getJobs(['waiting', 'delayed', 'prioritized']);
  return [...lone.map((j) => j.data.deliveryId), ...(await batchJobs()).flatMap((j) => j.data.deliveryIds)].sort();
}

describe('status.created', () => {
  it('reaches each subscriber once per route, records skips with their reason, and a repeat adds nothing', async () => {
    const alice = await addPerson(t.ctx, 'alice');
    const build = await addService(t.ctx, 'build', [alice.id]);
    const bob = await addPerson(t.ctx, 'bob');
    const carol = await addPerson(t.ctx, 'carol');
    const dave = await addPerson(t.ctx, 'dave', { switchedOff: true });
    const erin = await addPerson(t.ctx, 'erin');
    const gina = await addPerson(t.ctx, 'gina');
    const fred = await addPerson(t.ctx, 'fred');
    const hal = await addPerson(t.ctx, 'hal');
    const room = await addChannel(t.ctx, 'slack', 'C1');
    const hook = await addWebhook(t.ctx, gina.id, 'https://hooks.example.test/a');
    const offHook = await addWebhook(t.ctx, gina.id, 'https://hooks.example.test/b', { enabled: false });

    const bobFollow = await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: bob.id, target: build.id });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: bob.id, targetKind: 'tag', target: 'deploy' });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: bob.id, targetKind: 'word', target: 'green' });
    // Legacy `both` is read as dm+email; several routes give one delivery each.
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: carol.id, target: build.id, route: 'both' });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: fred.id, target: build.id, route: 'dm+sms' });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: hal.id, target: build.id, route: 'sms' });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: dave.id, target: build.id });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: erin.id, target: build.id, state: 'off' });
    await addFollow(t.ctx, { subscriberKind: 'channel', subscriberId: room.id, target: build.id });
    await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: hook.id, target: build.id });
    await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: offHook.id, target: build.id });
    // The author tracks a word of their own status: they do not receive it.
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: alice.id, targetKind: 'word', target: 'green' });

    const s = await post(t.ctx, build.id, 'Build 42 is green #deploy', alice.id);
    const r1 = await fanOut(deps, created(s.id));

    const rows = await deliveriesOf(t.ctx, s.id);
    const view = rows.map((r) => `${r.subscriberId === room.id ? 'room' : r.subscriberId === hook.id ? 'hook' : r.subscriberId === offHook.id ? 'offHook' : [bob, carol, dave, erin, fred, hal].find((p) => p.id === r.subscriberId)?.handle}/${r.route}/${r.state}${r.reason ? `/${r.reason}` : ''}`);
    expect(view.sort()).toEqual(
      [
        'bob/dm/queued',
        'carol/dm/queued',
        'carol/email/queued',
        'dave/dm/skipped/switched off',
        'erin/dm/skipped/follow off',
        'fred/dm/queued',
        'fred/sms/queued',
        'hal/sms/queued',
        'hook/webhook/queued',
        'offHook/webhook/skipped/webhook disabled',
        'room/channel/queued',
      ].sort(),
    );
    // Bob, reached through @build, #deploy and "green", has one delivery: the one of his @build follow.
    expect((await deliveryFor(t.ctx, s.id, bob.id))[0]!.followId).toBe(bobFollow.id);
    expect(rows.every((r) => r.dedupeKey === `status.created:${s.id}:${r.subscriberKind}:${r.subscriberId}:${r.route}`)).toBe(true);
    // Email deliveries wait for the digest: no job. The others go in one batch per route (dm: bob and
    // carol; webhook: the enabled endpoint), or a job of their own when alone (the room). Bob, reached
    // again through #deploy and "green", is in no second job.
    const withJobs = rows.filter((r) => r.state === 'queued' && r.route !== 'email').map((r) => r.id).sort();
    expect(await enqueued()).toEqual(withJobs);
    expect((await batchJobs()).map((j) => j.data.route).sort()).toEqual(['dm', 'sms', 'webhook']);
    expect(await jobIds()).toEqual(rows.filter((r) => r.route === 'channel').map((r) => r.id));
    const batchIds = (await batchJobs()).map((j) => j.id).sort();
    expect(r1).toMatchObject({ queued: 8, skipped: 3 });

    // At-least-once: the same event again writes nothing and enqueues nothing new.
    expect(await fanOut(deps, created(s.id))).toMatchObject({ queued: 0, skipped: 0 });
    expect((await deliveriesOf(t.ctx, s.id)).map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(await enqueued()).toEqual(withJobs);
    expect((await batchJobs()).map((j) => j.id).sort()).toEqual(batchIds);
  });

  it('puts many deliveries of one route in batch jobs of 100 that a re-run makes again the same', async () => {
    const wide = await addService(t.ctx, 'wide');
    const n = 250;
    const people = Array.from({ length: n }, (_, i) => ({ id: newId(), handle: `w${i}`, kind: 'person' as const, name: `W ${i}` }));
    await t.ctx.db.insert(sources).values(people);
    await t.ctx.db.insert(follows).values(people.map((p) => ({ id: newId(), subscriberKind: 'person' as const, subscriberId: p.id, targetKind: 'source' as const, target: wide.id, state: 'active' as const, route: 'dm' as const })));
    const s = await post(t.ctx, wide.id, 'to a crowd');
    // The first page is one batch's worth, handed to the queue before the rest is read and written.
    const handedOver: number[] = [];
    const enqueue: FanOutDeps['enqueue'] = { ...deps.enqueue, deliver: (items, opts) => (handedOver.push(items.length), deps.enqueue.deliver(items, opts)) };
    expect((await fanOut({ ...deps, enqueue, pageSize: 1000 }, created(s.id))).queued).toBe(n);
    expect(handedOver).toEqual([100, 150]);
    const ids = (await deliveriesOf(t.ctx, s.id)).map((r) => r.id).sort();
    const first = await batchJobs();
    expect(first.map((j) => j.data.deliveryIds.length).sort()).toEqual([100, 100, 50]);
    expect(first.flatMap((j) => j.data.deliveryIds).sort()).toEqual(ids);
    expect(await jobIds()).toEqual([]);

    // While the batches wait, a re-run adds nothing: the same deliveries make the same job ids.
    await fanOut(deps, created(s.id));
    expect((await batchJobs()).map((j) => j.id).sort()).toEqual(first.map((j) => j.id).sort());

    // Once the first hundred are sent and their batch is gone, a re-run adds back only the other two.
    await queues.deliverBatch.drain(true);
    await t.ctx.db.update(deliveries).set({ state: 'sent' }).where(inArray(deliveries.id, ids.slice(0, 100)));
    await fanOut(deps, created(s.id));
    const again = await batchJobs();
    expect(again.flatMap((j) => j.data.deliveryIds).sort()).toEqual(ids.slice(100));
  });

  it('re-enqueues deliveries an earlier crashed run wrote but never handed to the queue', async () => {
    const src = await addService(t.ctx, 'crashy');
    const p = await addPerson(t.ctx, 'crash-follower');
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: p.id, target: src.id });
    const s = await post(t.ctx, src.id, 'hello');
    await fanOut(deps, created(s.id));
    await queues.deliver.drain(true);
    expect(await jobIds()).toEqual([]);
    await fanOut(deps, created(s.id));
    const [d] = await deliveriesOf(t.ctx, s.id);
    expect(await jobIds()).toEqual([d!.id]);
    // Once sent, a repeat leaves it alone.
    await queues.deliver.drain(true);
    await t.ctx.db.update(deliveries).set({ state: 'sent' }).where(eq(deliveries.id, d!.id));
    await fanOut(deps, created(s.id));
    expect(await jobIds()).toEqual([]);
  });

  for (const mode of ['alone', 'together with a public status'] as const) {
    it(`delivers a protected source only to approved followers and owners; tag and word follows need approval too (${mode})`, async () => {
      const h = (handle: string) => (mode === 'alone' ? handle : `${handle}-2`);
      const owner = await addPerson(t.ctx, h('sec-owner'));
      const secret = await addService(t.ctx, h('secret'), [owner.id], { visibility: 'protected' });
      const approved = await addPerson(t.ctx, h('approved'));
      const waiting = await addPerson(t.ctx, h('waiting'));
      const tagOnly = await addPerson(t.ctx, h('tag-only'));
      const tagApproved = await addPerson(t.ctx, h('tag-approved'));
      const outsider = await addPerson(t.ctx, h('outsider'));
      const blocked = await addPerson(t.ctx, h('blocked-one'));
      const outsiderHook = await addWebhook(t.ctx, outsider.id, 'https://hooks.example.test/outsider');
      const ownerHook = await addWebhook(t.ctx, owner.id, 'https://hooks.example.test/owner');

      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: approved.id, target: secret.id });
      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: waiting.id, target: secret.id, state: 'pending' });
      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: tagOnly.id, targetKind: 'tag', target: 'payroll' });
      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: tagApproved.id, targetKind: 'tag', target: 'payroll' });
      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: tagApproved.id, target: secret.id, state: 'off' });
      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: outsider.id, targetKind: 'word', target: 'salaries' });
      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: blocked.id, target: secret.id });
      await t.ctx.db.execute(sql`insert into blocks (source_id, person_id) values (${secret.id}, ${blocked.id})`);
      await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: blocked.id, targetKind: 'tag', target: 'payroll' });
      await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: outsiderHook.id, targetKind: 'tag', target: 'payroll' });
      await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: ownerHook.id, targetKind: 'tag', target: 'payroll' });

      const s = await post(t.ctx, secret.id, 'salaries go out friday #payroll');
      if (mode === 'alone') await fanOut(deps, created(s.id));
      else {
        // The same follows meet a public status in the same job: approval and blocks are the protected source's alone.
        const open = await addService(t.ctx, 'open-books');
        const p = await post(t.ctx, open.id, 'the canteen menu #payroll');
        await fanOut(deps, { outboxIds: [1, 2], event: 'statuses.created', payload: { statusIds: [s.id, p.id] } });
        const onPublic = async (id: string) => (await deliveryFor(t.ctx, p.id, id)).map((d) => d.state);
        // Blocked by the protected source only: the public one reaches them.
        for (const who of [tagOnly, tagApproved, outsiderHook, ownerHook, blocked]) expect(await onPublic(who.id)).toEqual(['queued']);
      }
      const state = async (id: string) => (await deliveryFor(t.ctx, s.id, id)).map((d) => `${d.state}${d.reason ? `/${d.reason}` : ''}`);

      expect(await state(approved.id)).toEqual(['queued']);
      expect(await state(waiting.id)).toEqual(['skipped/follow pending']);
      expect(await state(tagOnly.id)).toEqual(['skipped/not permitted']);
      // Approved (their follow is switched off, the tag follow still counts as approved).
      expect(await state(tagApproved.id)).toEqual(['queued']);
      expect(await state(outsider.id)).toEqual(['skipped/not permitted']);
      expect(await state(blocked.id)).toEqual(['skipped/blocked']);
      expect(await state(ownerHook.id)).toEqual(['queued']);
      // A webhook's log is readable by its owner: nothing of a protected status is written there.
      expect(await state(outsiderHook.id)).toEqual([]);
    });
  }

  it("applies follow filters and webhook endpoint filters", async () => {
    const src = await addService(t.ctx, 'ci');
    const wantsDeploy = await addPerson(t.ctx, 'wants-deploy');
    const noFlaky = await addPerson(t.ctx, 'no-flaky');
    const everything = await addPerson(t.ctx, 'everything');
    const filtered = await addWebhook(t.ctx, everything.id, 'https://hooks.example.test/f', { filter: ['-#flaky'] });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: wantsDeploy.id, target: src.id, filters: ['+#release'] });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: noFlaky.id, target: src.id, filters: ['-flaky'] });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: everything.id, target: src.id });
    await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: filtered.id, target: src.id });

    const flaky = await post(t.ctx, src.id, 'test run was flaky #flaky');
    const deploy = await post(t.ctx, src.id, 'shipped #release');
    await fanOut(deps, created(flaky.id));
    await fanOut(deps, created(deploy.id));
    const who = async (id: string) => (await deliveriesOf(t.ctx, id)).map((d) => d.subscriberId).sort();
    expect(await who(flaky.id)).toEqual([everything.id].sort());
    expect(await who(deploy.id)).toEqual([wantsDeploy.id, noFlaky.id, everything.id, filtered.id].sort());
  });

  it('an email follow of a person without a digest is skipped as "digest off", not left waiting', async () => {
    const src = await addPerson(t.ctx, 'nodigest-src');
    const reader = await addPerson(t.ctx, 'nodigest-reader', { digestPeriod: 'off' });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: reader.id, target: src.id, route: 'both' });
    const s = await post(t.ctx, src.id, 'email needs a digest');
    await fanOut(deps, created(s.id));
    const rows = await deliveriesOf(t.ctx, s.id);
    expect(rows.map((r) => `${r.route}/${r.state}${r.reason ? `/${r.reason}` : ''}`).sort()).toEqual(['dm/queued', 'email/skipped/digest off']);
  });

  it('walks 2,500 followers in pages and writes one delivery each', async () => {
    const big = await addService(t.ctx, 'big');
    const n = 2500;
    const people = Array.from({ length: n }, (_, i) => ({ id: newId(), handle: `f${i}`, kind: 'person' as const, name: `F ${i}`, email: `f${i}@example.test`, digestPeriod: 'daily' as const }));
    for (let i = 0; i < n; i += 500) await t.ctx.db.insert(sources).values(people.slice(i, i + 500));
    const fs = people.map((p) => ({ id: newId(), subscriberKind: 'person' as const, subscriberId: p.id, targetKind: 'source' as const, target: big.id, state: 'active' as const, route: 'email' as const }));
    for (let i = 0; i < n; i += 500) await t.ctx.db.insert(follows).values(fs.slice(i, i + 500));
    const s = await post(t.ctx, big.id, 'to everyone');
    const r = await fanOut({ ...deps, pageSize: 300 }, created(s.id));
    expect(r.queued).toBe(n);
    const [c] = await t.ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(deliveries)
      .where(and(eq(deliveries.statusId, s.id), eq(deliveries.route, 'email'), eq(deliveries.state, 'queued')));
    expect(c!.n).toBe(n);
    expect(await jobIds()).toEqual([]);
  });

  it('ignores a deleted or unknown status', async () => {
    expect(await fanOut(deps, created('nope'))).toEqual({ queued: 0, skipped: 0, retracts: 0 });
  });
});

describe('statuses.created (new statuses relayed together)', () => {
  it('fans out each status as on its own, puts their deliveries in shared batch jobs, and a re-run adds nothing', async () => {
    const owner = await addPerson(t.ctx, 'grp-owner');
    const svc = await addService(t.ctx, 'grp-svc', [owner.id]);
    const other = await addService(t.ctx, 'grp-other');
    const hooks = [];
    for (let i = 0; i < 3; i++) {
      const w = await addWebhook(t.ctx, owner.id, `https://example.com/grp/${i}`);
      await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: w.id, target: svc.id });
      hooks.push(w);
    }
    const reader = await addPerson(t.ctx, 'grp-reader');
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: reader.id, target: 'grouped', targetKind: 'tag' });
    const s1 = await post(t.ctx, svc.id, 'first of three');
    const s2 = await post(t.ctx, other.id, 'nobody follows this one');
    const s3 = await post(t.ctx, svc.id, 'third #grouped');
    const job = { outboxIds: [1, 2, 3], event: 'statuses.created' as const, payload: { statusIds: [s1.id, s2.id, s3.id] } };

    const r = await fanOut(deps, job);
    expect(r).toEqual({ queued: 7, skipped: 0, retracts: 0 });
    expect((await deliveriesOf(t.ctx, s1.id)).map((d) => d.subscriberId).sort()).toEqual(hooks.map((h) => h.id).sort());
    expect(await deliveriesOf(t.ctx, s2.id)).toEqual([]);
    expect((await deliveriesOf(t.ctx, s3.id)).map((d) => d.subscriberId).sort()).toEqual([...hooks.map((h) => h.id), reader.id].sort());
    // Six webhook deliveries of two statuses in one batch job; the lone DM in a job of its own.
    const batches = await batchJobs();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.data.route).toBe('webhook');
    const webhookIds = [...(await deliveriesOf(t.ctx, s1.id)), ...(await deliveriesOf(t.ctx, s3.id))].filter((d) => d.route === 'webhook').map((d) => d.id);
    expect([...batches[0]!.data.deliveryIds].sort()).toEqual(webhookIds.sort());
    expect(await jobIds()).toEqual([(await deliveryFor(t.ctx, s3.id, reader.id))[0]!.id]);

    // The job run again (a crash before it completed): the same deliveries, the same job ids.
    const before = await enqueued();
    expect(await fanOut(deps, job)).toEqual({ queued: 0, skipped: 0, retracts: 0 });
    expect(await batchJobs()).toHaveLength(1);
    expect(await enqueued()).toEqual(before);
  });

  it('with more than a page of follows among them, fans the statuses out one by one, to the same deliveries in shared batches', async () => {
    const owner = await addPerson(t.ctx, 'grp3-owner');
    const svc = await addService(t.ctx, 'grp3-svc', [owner.id]);
    const hooks = [];
    for (let i = 0; i < 3; i++) {
      const w = await addWebhook(t.ctx, owner.id, `https://example.com/grp3/${i}`);
      await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: w.id, target: svc.id });
      hooks.push(w);
    }
    const s1 = await post(t.ctx, svc.id, 'paged one');
    const s2 = await post(t.ctx, svc.id, 'paged two');
    const job = { outboxIds: [1, 2], event: 'statuses.created' as const, payload: { statusIds: [s1.id, s2.id] } };
    // Pages of two: three follows are more than a page, so the job takes the one-by-one path.
    const r = await fanOut({ ...deps, pageSize: 2 }, job);
    expect(r).toEqual({ queued: 6, skipped: 0, retracts: 0 });
    for (const s of [s1, s2]) expect((await deliveriesOf(t.ctx, s.id)).map((d) => d.subscriberId).sort()).toEqual(hooks.map((h) => h.id).sort());
    const batches = await batchJobs();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.data.deliveryIds).toHaveLength(6);
    expect(await fanOut({ ...deps, pageSize: 2 }, job)).toEqual({ queued: 0, skipped: 0, retracts: 0 });
    expect(await batchJobs()).toHaveLength(1);
  });

  it('skips a status deleted before its turn and still delivers the others', async () => {
    const owner = await addPerson(t.ctx, 'grp2-owner');
    const svc = await addService(t.ctx, 'grp2-svc', [owner.id]);
    const w = await addWebhook(t.ctx, owner.id, 'https://example.com/grp2');
    await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: w.id, target: svc.id });
    const gone = await post(t.ctx, svc.id, 'deleted at once');
    const kept = await post(t.ctx, svc.id, 'kept');
    await t.ctx.db.execute(sql`update statuses set deleted_at = now() where id = ${gone.id}`);
    const r = await fanOut(deps, { outboxIds: [1, 2], event: 'statuses.created', payload: { statusIds: [gone.id, kept.id] } });
    expect(r.queued).toBe(1);
    expect(await deliveriesOf(t.ctx, gone.id)).toEqual([]);
    expect(await enqueued()).toEqual([(await deliveryFor(t.ctx, kept.id, w.id))[0]!.id]);
  });
});

describe('status.deleted', () => {
  it('retracts chat messages, tells webhooks that received it, and drops what still waits', async () => {
    const src = await addService(t.ctx, 'gone');
    const p = await addPerson(t.ctx, 'reader');
    const q = await addPerson(t.ctx, 'digest-reader');
    const owner = await addPerson(t.ctx, 'hook-owner');
    const hook = await addWebhook(t.ctx, owner.id, 'https://hooks.example.test/del');
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: p.id, target: src.id });
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: q.id, target: src.id, route: 'email' });
    await addFollow(t.ctx, { subscriberKind: 'webhook', subscriberId: hook.id, target: src.id });
    const s = await post(t.ctx, src.id, 'oops');
    await fanOut(deps, created(s.id));
    await queues.deliver.drain(true);
    const [dm] = await deliveryFor(t.ctx, s.id, p.id);
    const [wh] = await deliveryFor(t.ctx, s.id, hook.id);
    await t.ctx.db.update(deliveries).set({ state: 'sent', refs: [{ platform: 'slack', channel: 'D1', ts: '1.2' }] }).where(eq(deliveries.id, dm!.id));
    await t.ctx.db.update(deliveries).set({ state: 'sent' }).where(eq(deliveries.id, wh!.id));

    const job = { outboxId: 2, event: 'status.deleted' as const, payload: { statusId: s.id } };
    const r = await fanOut(deps, job);
    expect(r.retracts).toBe(1);
    expect((await queues.retract.getJob(`rt-${dm!.id}`))?.data).toEqual({ deliveryId: dm!.id });
    const rows = await deliveriesOf(t.ctx, s.id);
    const deleted = rows.filter((d) => d.event === 'status.deleted');
    expect(deleted.map((d) => [d.subscriberId, d.route, d.state])).toEqual([[hook.id, 'webhook', 'queued']]);
    expect(await jobIds()).toEqual([deleted[0]!.id]);
    expect((await deliveryFor(t.ctx, s.id, q.id))[0]).toMatchObject({ state: 'skipped', reason: 'status deleted' });

    await fanOut(deps, job);
    expect((await deliveriesOf(t.ctx, s.id)).filter((d) => d.event === 'status.deleted')).toHaveLength(1);
    await queues.deliver.drain(true);
    await queues.retract.drain(true);
  });
});

describe('follow.requested and notice', () => {
  it("asks every owner in a DM and tells owners' webhooks", async () => {
    const o1 = await addPerson(t.ctx, 'owner-one');
    const o2 = await addPerson(t.ctx, 'owner-two');
    const payroll = await addService(t.ctx, 'payroll', [o1.id, o2.id], { visibility: 'protected' });
    const requester = await addPerson(t.ctx, 'requester');
    const hook = await addWebhook(t.ctx, o1.id, 'https://hooks.example.test/req');
    const f = await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: requester.id, target: payroll.id, state: 'pending' });
    const job = { outboxId: 3, event: 'follow.requested' as const, payload: { followId: f.id } };
    await fanOut(deps, job);
    await fanOut(deps, job);
    const rows = await t.ctx.db.select().from(deliveries).where(eq(deliveries.followId, f.id));
    expect(rows.map((r) => `${r.subscriberId}/${r.route}`).sort()).toEqual([`${o1.id}/dm`, `${o2.id}/dm`, `${hook.id}/webhook`].sort());
    const dm = rows.find((r) => r.route === 'dm')!;
    expect(dm.payload.message).toEqual({
      kind: 'follow_request',
      followId: f.id,
      requester: { handle: 'requester', name: 'requester Example' },
      source: { handle: 'payroll', name: 'payroll service' },
    });
    expect(rows.find((r) => r.route === 'webhook')!.payload.data).toMatchObject({ requester: { handle: 'requester', kind: 'person' }, source: { handle: 'payroll' } });
    await queues.deliver.drain(true);
  });

  it('a notice becomes one DM delivery, however often it is fanned out', async () => {
    const p = await addPerson(t.ctx, 'noticed');
    const job = { outboxId: 77, event: 'notice' as const, payload: { personId: p.id, message: { kind: 'notice', text: 'hi' }, key: 'k1' } };
    await fanOut(deps, job);
    await fanOut(deps, { ...job, outboxId: 78 });
    const rows = await t.ctx.db.select().from(deliveries).where(eq(deliveries.subscriberId, p.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'notice', route: 'dm', state: 'queued', payload: { message: { kind: 'notice', text: 'hi' } } });
    await queues.deliver.drain(true);
  });
});
