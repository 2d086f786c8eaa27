import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimEvent } from '../../src/app/processed-events.js';
import { newId } from '../../src/core/ids.js';
import { deliveries, outbox, processedEvents } from '../../src/db/schema.js';
import { housekeep, pruneDeliveries } from '../../src/pipeline/housekeeping.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.drop());

describe('housekeeping', () => {
  it('forgets old event claims and old relayed outbox rows, and keeps the rest', async () => {
    const db = t.database.db;
    const now = t.clock.now().getTime();
    await db.insert(processedEvents).values([
      { key: 'slack:old', at: new Date(now - 2 * 86_400_000) },
      { key: 'slack:new', at: new Date(now - 60_000) },
    ]);
    await db.insert(outbox).values([
      { event: 'status.created', payload: { statusId: 'a' }, relayedAt: new Date(now - 8 * 86_400_000) },
      { event: 'status.created', payload: { statusId: 'b' }, relayedAt: new Date(now - 86_400_000) },
      { event: 'status.created', payload: { statusId: 'c' }, relayedAt: null },
    ]);
    expect(await housekeep(t.ctx)).toMatchObject({ events: 1, outbox: 1 });
    expect((await db.select().from(processedEvents)).map((r) => r.key)).toEqual(['slack:new']);
    expect((await db.select().from(outbox)).map((r) => r.payload.statusId).sort()).toEqual(['b', 'c']);
    // A claim that is still remembered refuses a retry of the same event.
    expect(await claimEvent(db, 'slack:new')).toBe(false);
    expect(await claimEvent(db, 'slack:old')).toBe(true);
  });
});

describe('delivery retention (DELIVERY_RETENTION_DAYS)', () => {
  const DAY = 86_400_000;
  type State = 'queued' | 'sent' | 'retrying' | 'failed' | 'skipped';
  /** One webhook delivery made `daysAgo` days before the test clock's now, with an id of that time. */
  const delivery = (label: string, daysAgo: number, state: State) => {
    const at = new Date(t.clock.now().getTime() - daysAgo * DAY);
    return { id: newId(at.getTime()), event: 'status.created', statusId: null, subscriberKind: 'webhook' as const, subscriberId: 'w1', route: 'webhook' as const, state, dedupeKey: label, createdAt: at, updatedAt: at };
  };
  const labels = async () => (await t.database.db.select({ k: deliveries.dedupeKey }).from(deliveries)).map((r) => r.k).sort();

  it('deletes finished deliveries older than the retention, keeps newer ones and any still under way', async () => {
    const db = t.database.db;
    await db.delete(deliveries);
    await db.insert(deliveries).values([
      delivery('old-sent', 120, 'sent'),
      delivery('old-skipped', 95, 'skipped'),
      delivery('old-failed', 91, 'failed'),
      delivery('old-queued', 120, 'queued'),
      delivery('old-retrying', 100, 'retrying'),
      delivery('recent-sent', 89, 'sent'),
      delivery('today-sent', 0, 'sent'),
    ]);
    expect(t.ctx.config.deliveryRetentionDays).toBe(90);
    expect(await housekeep(t.ctx)).toMatchObject({ deliveries: 3 });
    expect(await labels()).toEqual(['old-queued', 'old-retrying', 'recent-sent', 'today-sent']);
    // Nothing more to do the next hour.
    expect(await housekeep(t.ctx)).toMatchObject({ deliveries: 0 });
  });

  it('keeps every delivery with 0, and goes through a backlog batch by batch', async () => {
    const db = t.database.db;
    await db.delete(deliveries);
    await db.insert(deliveries).values(Array.from({ length: 7 }, (_, i) => delivery(`old-${i}`, 200 + i, 'sent')));
    expect(await housekeep({ ...t.ctx, config: { ...t.ctx.config, deliveryRetentionDays: 0 } })).toMatchObject({ deliveries: 0 });
    expect(await labels()).toHaveLength(7);
    expect(await pruneDeliveries(db, new Date(t.clock.now().getTime() - 100 * DAY), { batch: 2 })).toBe(7);
    expect(await labels()).toEqual([]);
  });

  it('bounds each run: a spent time budget stops after the current batch', async () => {
    const db = t.database.db;
    await db.delete(deliveries);
    await db.insert(deliveries).values(Array.from({ length: 5 }, (_, i) => delivery(`old-${i}`, 200 + i, 'sent')));
    expect(await pruneDeliveries(db, new Date(t.clock.now().getTime() - 100 * DAY), { batch: 2, budgetMs: 0 })).toBe(2);
    // The oldest went first.
    expect(await labels()).toEqual(['old-0', 'old-1', 'old-2']);
  });
});
