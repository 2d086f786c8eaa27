import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { postStatus } from '../../src/app/statuses.js';
import { deliveries } from '../../src/db/schema.js';
import { CountingReceiver } from '../fakes/counting-receiver.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix, type TestDatabase } from '../helpers/db.js';
import { dropPrefix } from '../helpers/queues.js';
import { startApp, stopAll, until, waitForWorkers, type AppProcess } from './processes.js';
import { directContext, seedWebhookFollowers } from './seed.js';

/**
 * A worker process dies (SIGKILL) or is asked to stop (SIGTERM) in the middle of delivering one
 * status to 2,000 webhook followers; a new worker finishes. Every follower must end up with exactly
 * one delivery received: at-least-once underneath (repeats of a webhook-id are counted and reported),
 * never a missing one, never two different deliveries for one follower.
 */

const FOLLOWERS = 2000;
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  cleanup = [];
});

async function setup() {
  const db: TestDatabase = await createTestDatabase();
  cleanup.push(() => db.drop());
  const prefix = testQueuePrefix();
  cleanup.push(() => dropPrefix(prefix));
  // Each answer takes a moment, so the workers are mid-way when the signal comes.
  const receiver = await CountingReceiver.start({ ports: 2, secret: SECRET, delayMs: 15 });
  cleanup.push(() => receiver.close());
  const seeded = await seedWebhookFollowers(db.db, { handle: 'load', n: FOLLOWERS, urlOf: (i) => receiver.url(i), secret: SECRET });
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_DELAYS: '1,1,2,2',
    WORKER_CONCURRENCY: '16',
    LOG_LEVEL: 'warn',
    OUTBOX_DIR: path.join(os.tmpdir(), `tp-faults-${prefix}`),
  };
  const apps: AppProcess[] = [];
  cleanup.push(() => stopAll(apps));
  const worker = async () => {
    const w = await startApp('worker', env);
    apps.push(w);
    return w;
  };
  const post = async (text: string) => (await postStatus(directContext(db.db, env), { sourceId: seeded.serviceId, text, platform: 'api' })).status.id;
  return { db, prefix, receiver, seeded, env, worker, post };
}

/** Every follower `/f/i` has exactly one first delivery, of `statusId`. */
function expectEachFollowerOnce(receiver: CountingReceiver, statusId: string): void {
  const missing: number[] = [];
  const doubled: number[] = [];
  for (let i = 0; i < FOLLOWERS; i++) {
    const got = receiver.byPath.get(`/f/${i}`) ?? [];
    if (got.length === 0) missing.push(i);
    if (got.length > 1) doubled.push(i);
    for (const g of got) expect(g.statusId).toBe(statusId);
  }
  expect(missing, 'followers without a delivery').toEqual([]);
  expect(doubled, 'followers with two different deliveries').toEqual([]);
  expect(receiver.unique).toBe(FOLLOWERS);
  expect(receiver.badSignatures).toBe(0);
}

describe('a worker dies or stops during a 2,000-follower fan-out', () => {
  it('SIGKILL mid-way: a new worker delivers the rest, each follower gets the status exactly once', async () => {
    const s = await setup();
    const first = await s.worker();
    await waitForWorkers(REDIS_URL, s.prefix);
    const statusId = await s.post('deploy 42 is out #deploy');
    await s.receiver.waitFor(() => s.receiver.unique >= 300, 60_000, '300 deliveries before the kill');
    first.kill('SIGKILL');
    const killed = await first.waitExit(10_000);
    expect(killed.signal).toBe('SIGKILL');
    const atKill = s.receiver.unique;
    const killedAt = Date.now();
    expect(atKill).toBeLessThan(FOLLOWERS);

    await s.worker();
    // Jobs the dead worker held come back once their locks lapse (workerLocks: 15 s locks, checked every 5 s).
    await s.receiver.waitFor(() => s.receiver.unique >= FOLLOWERS, 120_000, 'every follower');
    // The receiver may have had every follower's request before the rows say so: requests the dead worker
    // sent but never recorded are re-sent (a repeat) only when BullMQ hands their stalled jobs out again.
    await until(
      async () => (await s.db.db.select({ state: deliveries.state }).from(deliveries).where(eq(deliveries.statusId, statusId))).every((d) => d.state === 'sent'),
      150_000,
      'every delivery row marked sent',
    );
    console.log(
      `SIGKILL after ${atKill} of ${FOLLOWERS} deliveries: ${s.receiver.repeats} repeated webhook-id(s) (at-least-once), ${s.receiver.requests} requests in all; all delivered ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`,
    );
    expectEachFollowerOnce(s.receiver, statusId);
    const rows = await s.db.db.select().from(deliveries).where(eq(deliveries.statusId, statusId));
    expect(rows).toHaveLength(FOLLOWERS);
    // A repeat is always the same delivery (same webhook-id) re-sent, bounded by what was in flight.
    expect(s.receiver.repeats).toBeLessThanOrEqual(s.receiver.requests - FOLLOWERS);
  }, 300_000);

  it('SIGTERM mid-way: the worker drains and exits 0; the next one finishes, each follower once', async () => {
    const s = await setup();
    const first = await s.worker();
    await waitForWorkers(REDIS_URL, s.prefix);
    const statusId = await s.post('release 7 #deploy');
    await s.receiver.waitFor(() => s.receiver.unique >= 300, 60_000, '300 deliveries before SIGTERM');
    first.kill('SIGTERM');
    const atTerm = s.receiver.unique;
    const exit = await first.waitExit(30_000);
    expect(exit).toEqual({ code: 0, signal: null });
    const atExit = s.receiver.unique;
    expect(atExit, 'the drain must stop taking new jobs').toBeLessThan(FOLLOWERS);
    // Drained, not abandoned: every delivery it had started is recorded as sent.
    const sentRows = await s.db.db.select({ id: deliveries.id }).from(deliveries).where(eq(deliveries.state, 'sent'));
    expect(sentRows.length).toBe(atExit);

    await s.worker();
    await s.receiver.waitFor(() => s.receiver.unique >= FOLLOWERS, 60_000, 'every follower');
    await until(
      async () => (await s.db.db.select({ state: deliveries.state }).from(deliveries).where(eq(deliveries.statusId, statusId))).every((d) => d.state === 'sent'),
      30_000,
      'every delivery row marked sent',
    );
    console.log(`SIGTERM after ${atTerm} deliveries; ${atExit} done when it exited; ${s.receiver.repeats} repeated webhook-id(s)`);
    expectEachFollowerOnce(s.receiver, statusId);
    // A drained worker leaves nothing half done, so nothing is sent twice.
    expect(s.receiver.repeats).toBe(0);
  }, 200_000);
});
