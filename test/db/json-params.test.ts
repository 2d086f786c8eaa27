import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { inJsonList, jsonRows } from '../../src/db/json-params.js';
import { deliveries, sources } from '../../src/db/schema.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(async () => {
  await t?.drop();
});

describe('bulk statements with one JSON parameter', () => {
  it('inserts rows through jsonb_populate_recordset with plain defaults filled in and values kept exactly', async () => {
    const now = new Date('2026-11-23T10:00:00.123Z');
    const rows = [
      { id: newId(), event: 'notice', subscriberKind: 'person' as const, subscriberId: 'p1', route: 'dm' as const, state: 'queued' as const, payload: { text: 'quote " and \\ and ü' }, dedupeKey: `k-${newId()}`, createdAt: now, updatedAt: now },
      { id: newId(), event: 'notice', subscriberKind: 'person' as const, subscriberId: 'p2', route: 'dm' as const, state: 'skipped' as const, reason: 'switched off', dedupeKey: `k-${newId()}`, createdAt: now, updatedAt: now },
    ];
    const written = await t.ctx.db
      .insert(deliveries)
      .select(jsonRows(deliveries, rows))
      .returning();
    const byId = new Map(written.map((w) => [w.id, w]));
    expect(byId.get(rows[0]!.id)).toMatchObject({ attempts: 0, refs: [], payload: { text: 'quote " and \\ and ü' }, reason: null, createdAt: now, holdUntil: null });
    expect(byId.get(rows[1]!.id)).toMatchObject({ attempts: 0, payload: {}, reason: 'switched off', state: 'skipped' });
  });

  it('matches a column against a list given as one parameter, including values that look like SQL', async () => {
    const ids = [newId(), newId(), newId()];
    await t.ctx.db.insert(sources).values(ids.map((id, i) => ({ id, handle: `json-${i}`, kind: 'person' as const, name: `J ${i}` })));
    const found = await t.ctx.db.select({ id: sources.id }).from(sources).where(inJsonList(sources.id, [ids[0]!, ids[2]!, "x') or ('1'='1", 'missing']));
    expect(found.map((f) => f.id).sort()).toEqual([ids[0], ids[2]].sort());
    expect(await t.ctx.db.select().from(sources).where(inJsonList(sources.id, []))).toEqual([]);
  });
});
