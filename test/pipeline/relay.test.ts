import { eq, isNull } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { writeOutbox } from '../../src/app/outbox.js';
import { parseConfig } from '../../src/config.js';
import { systemClock } from '../../src/core/clock.js';
import { migrateDatabase, openDatabase, type Database } from '../../src/db/client.js';
import { outbox } from '../../src/db/schema.js';
import { createQueues, type Queues } from '../../src/pipeline/queues.js';
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
  it('moves rows into the fan-out queue in id order, one job per row, and marks them relayed', async () => {
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
      const jobs = await queues.fanOut.getJobs(['waiting']);
      expect(jobs.map((j) => j.id).sort()).toEqual(rows.map((r) => `ob-${r.id}`).sort());
      expect((await queues.fanOut.getJob(`ob-${rows[0]!.id}`))!.data).toEqual({ outboxId: rows[0]!.id, event: 'status.created', payload: { statusId: s1.id } });
      expect((await queues.fanOut.getJob(`ob-${rows[1]!.id}`))!.data.payload).toEqual({ statusId: s2.id });
      expect(await pending(t.ctx)).toBe(0);
      expect(inc).toEqual(['api', 'api']);

      // A crash after enqueueing but before marking: the row is relayed again under the same job id.
      await t.ctx.db.update(outbox).set({ relayedAt: null }).where(eq(outbox.id, rows[0]!.id));
      expect(await relay.runOnce()).toBe(1);
      expect(await queues.fanOut.getJobCounts('waiting')).toEqual({ waiting: 3 });
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
      expect(await queues.fanOut.getJobCounts('waiting')).toEqual({ waiting: 60 });
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
