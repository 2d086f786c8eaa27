import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { deliveries, outbox } from '../../src/db/schema.js';
import { createEnqueuer, type Enqueuer } from '../../src/pipeline/enqueue.js';
import { createQueues, jobIds, type Queues } from '../../src/pipeline/queues.js';
import { requeueFromDatabase, watchForLostQueues } from '../../src/pipeline/recover.js';
import { waitUntil } from '../helpers/wait.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { REDIS_URL } from '../helpers/db.js';

let t: TestContext;
let queues: Queues;
let enqueue: Enqueuer;

beforeAll(async () => {
  t = await createTestContext();
  queues = createQueues(REDIS_URL, t.prefix);
  enqueue = createEnqueuer(queues, { dm: 5, email: 1, channel: 5, webhook: 4, sms: 5, xmpp: 5 });
});

afterAll(async () => {
  // Closing the test's context (t.drop) deletes its Redis prefix too.
  await queues?.close();
  await t?.drop();
});

const minutes = (n: number) => new Date(t.clock.now().getTime() + n * 60_000);

async function delivery(row: Partial<typeof deliveries.$inferInsert> & Pick<typeof deliveries.$inferInsert, 'route' | 'state'>): Promise<string> {
  const id = newId();
  const at = row.createdAt ?? t.clock.now();
  await t.ctx.db.insert(deliveries).values({ id, event: 'status.created', subscriberKind: row.route === 'webhook' ? 'webhook' : 'person', subscriberId: newId(), dedupeKey: `recover:${id}`, createdAt: at, updatedAt: at, ...row });
  return id;
}

async function relayedAt(id: number): Promise<Date | null> {
  const [row] = await t.ctx.db.select({ at: outbox.relayedAt }).from(outbox).where(eq(outbox.id, id));
  return row!.at;
}

describe('a Redis that lost our queues', () => {
  it('gets back every job PostgreSQL says is unfinished, and nothing that is done', async () => {
    const [recentOb] = await t.ctx.db.insert(outbox).values({ event: 'status.created', payload: { statusId: 'x' }, relayedAt: minutes(-5) }).returning();
    const [oldOb] = await t.ctx.db.insert(outbox).values({ event: 'status.created', payload: { statusId: 'y' }, relayedAt: minutes(-120) }).returning();
    const oldQueued = [await delivery({ route: 'webhook', state: 'queued', createdAt: minutes(-60) }), await delivery({ route: 'webhook', state: 'queued', createdAt: minutes(-59) })];
    const recentQueued = await delivery({ route: 'webhook', state: 'queued', createdAt: minutes(-1) });
    const retrying = await delivery({ route: 'webhook', state: 'retrying', attempts: 2, createdAt: minutes(-30) });
    const heldFor = newId();
    await delivery({ route: 'dm', state: 'queued', subscriberId: heldFor, holdUntil: minutes(90), createdAt: minutes(-40) });
    await delivery({ route: 'dm', state: 'queued', subscriberId: heldFor, holdUntil: minutes(90), createdAt: minutes(-39) });
    await delivery({ route: 'webhook', state: 'sent', createdAt: minutes(-50) });
    await delivery({ route: 'email', state: 'queued', createdAt: minutes(-50) });

    const r = await requeueFromDatabase({ ctx: t.ctx, enqueue });
    expect(r).toEqual({ fanOuts: 1, queued: 2, retrying: 1, releases: 1 });

    // The recent fan-out runs again through the relay (same deliveries, same batches, same job ids).
    expect(await relayedAt(recentOb!.id)).toBeNull();
    expect(await relayedAt(oldOb!.id)).toEqual(minutes(-120));
    // Older deliveries still waiting go in a batch of their own; the recent one is its fan-out's.
    const batches = await queues.deliverBatch.getJobs(['waiting']);
    expect(batches.map((b) => b.data.deliveryIds)).toEqual([oldQueued.sort()]);
    expect(batches.flatMap((b) => b.data.deliveryIds)).not.toContain(recentQueued);
    // A retry is due now and counts the attempts already made.
    const retry = await queues.deliver.getJob(retrying);
    expect(retry?.data).toEqual({ deliveryId: retrying, route: 'webhook', attemptsBefore: 2 });
    expect(retry?.opts.attempts).toBe(2);
    // One release per person and end of quiet hours, at that time.
    const release = await queues.release.getJob(jobIds.release(heldFor, minutes(90)));
    expect(release?.data).toEqual({ personId: heldFor, until: minutes(90).toISOString() });

    // Deterministic job ids: running it again while the jobs wait adds nothing.
    await requeueFromDatabase({ ctx: t.ctx, enqueue });
    expect(await queues.deliverBatch.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await queues.deliver.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('requeues when the marker key is gone, once, and not while it is there', async () => {
    await queues.dropMarker();
    expect(await queues.claimMarker()).toBe(true);
    expect(await queues.claimMarker()).toBe(false);
    const [ob] = await t.ctx.db.insert(outbox).values({ event: 'status.created', payload: { statusId: 'z' }, relayedAt: minutes(-2) }).returning();
    const watch = watchForLostQueues({ ctx: { ...t.ctx, log: pino({ level: 'silent' }) }, queues, enqueue, everyMs: 50 });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await relayedAt(ob!.id), 'the marker is there: nothing requeued').toEqual(minutes(-2));
      // Redis restarted empty: the marker went with everything else.
      await queues.dropMarker();
      await waitUntil(async () => (await relayedAt(ob!.id)) === null, 'the fan-out handed back to the relay', 5000);
      expect(await queues.claimMarker(), 'the watch set the marker again').toBe(false);
    } finally {
      watch.stop();
    }
  });
});
