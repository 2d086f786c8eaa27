import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { DomainError } from '../../src/core/errors.js';
import type { Route } from '../../src/core/types.js';
import { deliveries, follows } from '../../src/db/schema.js';
import type { Channel, ChannelRegistry, DeliveryRecord } from '../../src/pipeline/channel.js';
import { redeliver, startWorkers, type Workers } from '../../src/pipeline/index.js';
import { createQueues } from '../../src/pipeline/queues.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { REDIS_URL } from '../helpers/db.js';
import { addFollow, addPerson, addService, deliveryFor, getDelivery, post, waitUntil } from './helpers.js';

/** A route that takes its time, to catch a worker in the middle of a job. */
class SlowChannel implements Channel {
  readonly maxAttempts = 3;
  started: string[] = [];
  constructor(readonly route: Route) {}
  backoffMs(): number {
    return 10;
  }
  async deliver(d: DeliveryRecord) {
    this.started.push(d.id);
    await new Promise<void>((resolve) => setTimeout(resolve, 400));
    return { kind: 'sent' as const };
  }
}

let t: TestContext;
let ctx: AppContext;
let workers: Workers;
let channels: Record<Route, SlowChannel>;

beforeAll(async () => {
  t = await createTestContext();
  let kick = () => {};
  ctx = { ...t.ctx, kick: () => kick() };
  channels = { dm: new SlowChannel('dm'), email: new SlowChannel('email'), channel: new SlowChannel('channel'), webhook: new SlowChannel('webhook'), sms: new SlowChannel('sms'), xmpp: new SlowChannel('xmpp') };
  workers = startWorkers({ ctx, redisUrl: REDIS_URL, prefix: t.prefix, channels: channels satisfies ChannelRegistry, messengers: {} });
  kick = () => workers.kick();
});

afterAll(async () => {
  await workers?.close();
  const q = createQueues(REDIS_URL, t.prefix);
  for (const x of [q.fanOut, q.deliver, q.retract, q.release]) await x.obliterate({ force: true });
  await q.close();
  await t?.drop();
});

describe('startWorkers', () => {
  it('runs relay, fan-out and delivery, and close() lets a running delivery finish', async () => {
    const svc = await addService(ctx, 'drain');
    const p = await addPerson(ctx, 'drained');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
    const s = await post(ctx, svc.id, 'in flight at shutdown');
    await waitUntil(() => channels.dm.started.length === 1, 'the delivery to start');
    const [before] = await deliveryFor(ctx, s.id, p.id);
    expect(before!.state).toBe('queued');
    await workers.close();
    // close() resolved only after the active job finished and recorded its outcome.
    expect(await getDelivery(ctx, before!.id)).toMatchObject({ state: 'sent', attempts: 1 });
  });
});

describe('redeliver', () => {
  const enqueued: { id: string; route: string; resend: boolean }[] = [];
  const deps = () => ({ ctx, enqueue: { deliver: async (items: readonly { id: string; route: string }[], o?: { resend?: boolean }) => void enqueued.push(...items.map((i) => ({ ...i, resend: !!o?.resend }))) } });

  async function delivered(route: 'dm' | 'email' = 'dm') {
    const svc = await addService(ctx, `re-${route}-${Math.random().toString(36).slice(2, 8)}`);
    const p = await addPerson(ctx, `re-${Math.random().toString(36).slice(2, 8)}`);
    const f = await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id, route });
    const s = await post(ctx, svc.id, 'again');
    const now = t.clock.now();
    const id = `d-${Math.random().toString(36).slice(2, 10)}`;
    await ctx.db.insert(deliveries).values({ id, event: 'status.created', statusId: s.id, subscriberKind: 'person', subscriberId: p.id, route, followId: f.id, state: 'failed', attempts: 5, lastError: 'x', dedupeKey: `k-${id}`, createdAt: now, updatedAt: now });
    return { id, follow: f };
  }

  it('resets a failed delivery and enqueues it under a fresh job id', async () => {
    const { id } = await delivered();
    await redeliver(deps(), id);
    expect(await getDelivery(ctx, id)).toMatchObject({ state: 'queued', attempts: 0, lastError: null });
    expect(enqueued.at(-1)).toEqual({ id, route: 'dm', resend: true });
  });

  it('refuses what it may not send again', async () => {
    const unknown = await redeliver(deps(), 'nope').catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'not_found' });

    const busy = await delivered();
    await ctx.db.update(deliveries).set({ state: 'retrying' }).where(eq(deliveries.id, busy.id));
    expect(await redeliver(deps(), busy.id).catch((e: unknown) => e)).toMatchObject({ code: 'conflict' });

    const unfollowed = await delivered();
    await ctx.db.delete(follows).where(eq(follows.id, unfollowed.follow.id));
    const e = await redeliver(deps(), unfollowed.id).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DomainError);
    expect(e).toMatchObject({ code: 'rule', message: expect.stringMatching(/no longer exists/) });

    const off = await delivered();
    await ctx.db.update(follows).set({ state: 'off' }).where(eq(follows.id, off.follow.id));
    expect(await redeliver(deps(), off.id).catch((x: unknown) => x)).toMatchObject({ code: 'rule', message: 'This delivery cannot be sent again: follow off.' });
    expect(await getDelivery(ctx, off.id)).toMatchObject({ state: 'failed' });
  });
});
