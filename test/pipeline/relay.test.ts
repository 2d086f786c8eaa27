import { eq, inArray, isNull } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { writeOutbox } from '../../src/app/outbox.js';
import { parseConfig } from '../../src/config.js';
import { systemClock } from '../../src/core/clock.js';
import { migrateDatabase, openDatabase, type Database } from '../../src/db/client.js';
import { outbox } from '../../src/db/schema.js';
import { createQueues, jobIds, STATUSES_PER_FAN_OUT, type Queues } from '../../src/pipeline/queues.js';
import { startRelay } from '../../src/pipeline/relay.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { REDIS_URL, testQueuePrefix } from '../helpers/db.js';
import { addService, post, waitUntil } from './helpers.js';
import { dropPrefix } from '../helpers/queues.js';

let t: TestContext;
let queues: Queues;

beforeAll(async () => {
  t = await createTestContext();
  queues = createQueues(REDIS_URL, t.prefix);
});

beforeEach(async () => {
  await queues.fanOut.obliterate({ force: true });
  await t.ctx.db.update(outbox).set({ relayedAt: new Date() }).where(isNull(outbox.relayedAt));
});

afterAll(async () => {
  if (queues) {
    await queues.fanOut.obliterate({ force: true });
    await queues.close();
  }
  await t?.drop();
});

const pending = async (ctx: Pick<AppContext, 'db'>) => (await ctx.db.select({ id: outbox.id }).from(outbox).where(isNull(outbox.relayedAt))).length;

describe('outbox relay on PostgreSQL', () => {
  it('moves rows into the fan-out queue in id order, the new statuses of a batch in one job, and marks them relayed', async () => {
    const src = await addService(t.ctx, 'relayed');
    const inc: string[] = [];
    const relay = startRelay({
      ctx: t.ctx,
      fanOut: queues.fanOut,
      pollMs: 60_000,
      metrics: { statusesAccepted: { inc: (l) => void inc.push(l.platform) }, deliveries: { inc: () => {} } },
    });
    try {
      const s1 = await post(t.ctx, src.id, 'one');
      const s2 = await post(t.ctx, src.id, 'two');
      await t.ctx.db.transaction((tx) => writeOutbox(tx, { event: 'notice', payload: { personId: src.id, message: { kind: 'notice', text: 'n' } } }));
      const rows = await t.ctx.db.select().from(outbox).where(isNull(outbox.relayedAt)).orderBy(outbox.id);
      expect(await relay.runOnce()).toBe(3);
      const group = jobIds.fanOutGroup([rows[0]!.id, rows[1]!.id]);
      expect((await queues.fanOut.getJobs(['waiting'])).map((j) => j.id).sort()).toEqual([`ob-${rows[2]!.id}`, group].sort());
      expect((await queues.fanOut.getJob(group))!.data).toEqual({ outboxIds: [rows[0]!.id, rows[1]!.id], event: 'statuses.created', payload: { statusIds: [s1.id, s2.id] } });
      expect((await queues.fanOut.getJob(`ob-${rows[2]!.id}`))!.data.event).toBe('notice');
      expect(await pending(t.ctx)).toBe(0);
      expect(inc).toEqual(['api', 'api']);

      // A crash after enqueueing but before marking: the same rows are relayed again under the same job ids.
      await t.ctx.db.update(outbox).set({ relayedAt: null }).where(inArray(outbox.id, rows.map((r) => r.id)));
      expect(await relay.runOnce()).toBe(3);
      expect(await queues.fanOut.getJobCounts('waiting')).toEqual({ waiting: 2 });
      // A status relayed alone keeps a job of its own, as every row had before statuses went together.
      await t.ctx.db.update(outbox).set({ relayedAt: null }).where(eq(outbox.id, rows[0]!.id));
      expect(await relay.runOnce()).toBe(1);
      expect((await queues.fanOut.getJob(`ob-${rows[0]!.id}`))!.data).toEqual({ outboxId: rows[0]!.id, event: 'status.created', payload: { statusId: s1.id } });
    } finally {
      await relay.close();
    }
  });

  it('puts at most STATUSES_PER_FAN_OUT statuses in one job, in outbox order', async () => {
    const src = await addService(t.ctx, 'many');
    const ids: string[] = [];
    for (let i = 0; i < STATUSES_PER_FAN_OUT + 1; i++) ids.push((await post(t.ctx, src.id, `many ${i}`)).id);
    const relay = startRelay({ ctx: t.ctx, fanOut: queues.fanOut, pollMs: 60_000 });
    try {
      expect(await relay.runOnce()).toBe(STATUSES_PER_FAN_OUT + 1);
      const jobs = await queues.fanOut.getJobs(['waiting']);
      const carried = jobs.flatMap((j) => (j.data.event === 'statuses.created' ? j.data.payload.statusIds : j.data.event === 'status.created' ? [j.data.payload.statusId] : []));
      expect(jobs).toHaveLength(2);
      expect(carried.sort()).toEqual([...ids].sort());
      expect(jobs.find((j) => j.data.event === 'statuses.created')!.data.payload).toEqual({ statusIds: ids.slice(0, STATUSES_PER_FAN_OUT) });
    } finally {
      await relay.close();
    }
  });

  it('runs at once when kicked, without waiting for its poll', async () => {
    const src = await addService(t.ctx, 'kicked');
    const relay = startRelay({ ctx: t.ctx, fanOut: queues.fanOut, pollMs: 60_000 });
    try {
      await post(t.ctx, src.id, 'kick me');
      expect(await pending(t.ctx)).toBe(1);
      relay.kick();
      relay.kick();
      await waitUntil(async () => (await pending(t.ctx)) === 0, 'the kicked relay');
      expect(await queues.fanOut.getJobCounts('waiting')).toEqual({ waiting: 1 });
    } finally {
      await relay.close();
    }
  });

  it('relays run side by side without taking the same rows (for update skip locked)', async () => {
    const src = await addService(t.ctx, 'parallel');
    for (let i = 0; i < 60; i++) await post(t.ctx, src.id, `status ${i}`);
    const relays = [1, 2, 3].map(() => startRelay({ ctx: t.ctx, fanOut: queues.fanOut, pollMs: 60_000, batchSize: 7 }));
    try {
      const moved = await Promise.all(relays.map((r) => r.runOnce()));
      expect(moved.reduce((a, b) => a + b, 0)).toBe(60);
      expect(await pending(t.ctx)).toBe(0);
      // 60 statuses in batches of 7: a job per batch, each carrying its batch's statuses.
      const jobs = await queues.fanOut.getJobs(['waiting']);
      const carried = jobs.flatMap((j) => (j.data.event === 'statuses.created' ? j.data.payload.statusIds : j.data.event === 'status.created' ? [j.data.payload.statusId] : []));
      expect(new Set(carried).size).toBe(60);
      expect(carried).toHaveLength(60);
    } finally {
      await Promise.all(relays.map((r) => r.close()));
    }
  });
});

describe('outbox relay on PGlite', () => {
  let database: Database;
  let q: Queues;
  const prefix = testQueuePrefix();

  beforeAll(async () => {
    // In memory: nothing to clean up on disk.
    database = await openDatabase({ pgliteDir: 'memory://' });
    await migrateDatabase(database);
    q = createQueues(REDIS_URL, prefix);
  });

  afterAll(async () => {
    await q?.close();
    await dropPrefix(prefix);
    await database?.close();
  });

  it('works on the single embedded connection', async () => {
    const ctx: AppContext = {
      db: database.db,
      config: parseConfig({ LOG_LEVEL: 'silent' }),
      log: pino({ level: 'silent' }),
      clock: systemClock,
      kick: () => {},
    };
    await database.db.transaction(async (tx) => {
      await writeOutbox(tx, { event: 'status.deleted', payload: { statusId: 'x1' } });
      await writeOutbox(tx, { event: 'follow.requested', payload: { followId: 'f1' } });
    });
    const relay = startRelay({ ctx, fanOut: q.fanOut, pollMs: 60_000 });
    try {
      expect(await relay.runOnce()).toBe(2);
      expect(await pending(ctx)).toBe(0);
      const jobs = await q.fanOut.getJobs(['waiting']);
      expect(jobs.map((j) => j.data.event).sort()).toEqual(['follow.requested', 'status.deleted']);
    } finally {
      await relay.close();
    }
  });
});
