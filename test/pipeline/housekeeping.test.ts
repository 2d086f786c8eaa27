import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimEvent } from '../../src/app/processed-events.js';
import { outbox, processedEvents } from '../../src/db/schema.js';
import { housekeep } from '../../src/pipeline/housekeeping.js';
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
    expect(await housekeep(t.ctx)).toEqual({ events: 1, outbox: 1 });
    expect((await db.select().from(processedEvents)).map((r) => r.key)).toEqual(['slack:new']);
    expect((await db.select().from(outbox)).map((r) => r.payload.statusId).sort()).toEqual(['b', 'c']);
    // A claim that is still remembered refuses a retry of the same event.
    expect(await claimEvent(db, 'slack:new')).toBe(false);
    expect(await claimEvent(db, 'slack:old')).toBe(true);
  });
});
