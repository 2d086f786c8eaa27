import { Queue } from 'bullmq';
import { eq, isNull } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { outbox } from '../../src/db/schema.js';
import type { Channel, ChannelRegistry, DeliveryRecord } from '../../src/pipeline/channel.js';
import { startWorkers, type Workers } from '../../src/pipeline/index.js';
import { QUEUE, queueKeyPrefix } from '../../src/pipeline/queues.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { REDIS_URL } from '../helpers/db.js';
import { addFollow, addPerson, addService, deliveryFor, post, waitUntil } from './helpers.js';

/** Records what it was asked to deliver. */
class RecordingChannel implements Channel {
  readonly maxAttempts = 3;
  delivered: string[] = [];
  constructor(readonly route: DeliveryRecord['route']) {}
  backoffMs(): number {
    return 10;
  }
  deliver(d: DeliveryRecord) {
    this.delivered.push(d.id);
    return Promise.resolve({ kind: 'sent' as const });
  }
}

let t: TestContext;
let ctx: AppContext;
let workers: Workers | null = null;
let redis: Redis;

beforeAll(async () => {
  t = await createTestContext();
  ctx = { ...t.ctx, kick: () => {} };
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await workers?.close();
  redis?.disconnect();
  await t?.drop();
});

describe('the upgrade to one hash tag per queue', () => {
  it('moves jobs left under the untagged names to the new queues, keeps their delays, and removes the old keys', async () => {
    const svc = await addService(ctx, 'legacy');
    const p = await addPerson(ctx, 'upgrader');
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: p.id, target: svc.id });
    const s = await post(ctx, svc.id, 'posted before the upgrade');
    // An older process relayed the outbox row into the untagged fan-out queue, then stopped.
    const [row] = await ctx.db.select().from(outbox).where(isNull(outbox.relayedAt));
    await ctx.db.update(outbox).set({ relayedAt: new Date() }).where(eq(outbox.id, row!.id));
    const oldFanOut = new Queue(QUEUE.fanOut, { connection: redis, prefix: t.prefix });
    await oldFanOut.add('status.created', { outboxId: row!.id, event: 'status.created', payload: { statusId: s.id } }, { jobId: `ob-${row!.id}`, attempts: 5 });
    // And a quiet-hours release due in an hour waits there too.
    const oldRelease = new Queue(QUEUE.release, { connection: redis, prefix: t.prefix });
    await oldRelease.add('release', { personId: p.id, until: new Date(Date.now() + 3_600_000).toISOString() }, { jobId: 'rel-legacy', delay: 3_600_000 });
    await Promise.all([oldFanOut.close(), oldRelease.close()]);
    expect(await redis.exists(`${t.prefix}:${QUEUE.fanOut}:meta`)).toBe(1);

    const channels = { dm: new RecordingChannel('dm'), email: new RecordingChannel('email'), channel: new RecordingChannel('channel'), webhook: new RecordingChannel('webhook') };
    workers = startWorkers({ ctx, redisUrl: REDIS_URL, prefix: t.prefix, channels: channels as unknown as ChannelRegistry, messengers: {}, relay: false });

    const [delivery] = await waitUntil(async () => {
      const rows = await deliveryFor(ctx, s.id, p.id);
      return rows[0]?.state === 'sent' ? rows : null;
    }, 'the moved fan-out job to deliver the status');
    expect(channels.dm.delivered).toEqual([delivery!.id]);

    const moved = await workers.queues.release.getJob('rel-legacy');
    expect(moved?.data.personId).toBe(p.id);
    expect(await moved!.getState()).toBe('delayed');
    const score = Number(await redis.zscore(`${queueKeyPrefix(t.prefix, QUEUE.release)}:${QUEUE.release}:delayed`, 'rel-legacy'));
    const dueIn = Math.floor(score / 0x1000) - Date.now();
    expect(dueIn, 'the delay it had left').toBeGreaterThan(3_500_000);
    expect(dueIn).toBeLessThanOrEqual(3_600_000);

    await waitUntil(async () => (await redis.exists(`${t.prefix}:${QUEUE.fanOut}:meta`, `${t.prefix}:${QUEUE.release}:meta`)) === 0, 'the untagged queues to be removed');
    expect(await redis.keys(`${t.prefix}:*`)).toEqual([]);
  });
});
