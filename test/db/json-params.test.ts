import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { inJsonList, jsonRows } from '../../src/db/json-params.js';
import { deliveries, sources, webhooks } from '../../src/db/schema.js';
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

  it('sends a value every row shares once, in the base row, and each row only what differs', async () => {
    const now = new Date('2026-11-24T08:00:00.000Z');
    const statusId = newId();
    const rows = ['w1', 'w2', 'w3'].map((subscriberId, i) => ({
      id: newId(),
      event: 'status.created',
      statusId,
      subscriberKind: 'webhook' as const,
      subscriberId,
      route: 'webhook' as const,
      // One row differs in state and reason: those columns travel per row, for all three.
      state: i === 1 ? ('skipped' as const) : ('queued' as const),
      reason: i === 1 ? 'switched off' : null,
      dedupeKey: `status.created:${statusId}:webhook:${subscriberId}:webhook`,
      createdAt: now,
      updatedAt: now,
    }));
    const query = t.ctx.db.insert(deliveries).select(jsonRows(deliveries, rows));
    const [shared, each] = query.toSQL().params.map((p) => JSON.parse(String(p)) as Record<string, unknown>);
    expect(shared).toMatchObject({ event: 'status.created', status_id: statusId, subscriber_kind: 'webhook', route: 'webhook', attempts: 0, refs: [], created_at: now.toISOString() });
    expect(Object.keys((each as unknown as Record<string, unknown>[])[0]!).sort()).toEqual(['dedupe_key', 'id', 'reason', 'state', 'subscriber_id']);
    const written = await query.returning();
    expect(written.map((w) => [w.subscriberId, w.state, w.reason, w.statusId, w.attempts, w.createdAt.toISOString()]).sort()).toEqual([
      ['w1', 'queued', null, statusId, 0, now.toISOString()],
      ['w2', 'skipped', 'switched off', statusId, 0, now.toISOString()],
      ['w3', 'queued', null, statusId, 0, now.toISOString()],
    ]);
  });

  it('matches a column against a list given as one parameter, including values that look like SQL', async () => {
    const ids = [newId(), newId(), newId()];
    await t.ctx.db.insert(sources).values(ids.map((id, i) => ({ id, handle: `json-${i}`, kind: 'person' as const, name: `J ${i}` })));
    const found = await t.ctx.db.select({ id: sources.id }).from(sources).where(inJsonList(sources.id, [ids[0]!, ids[2]!, "x') or ('1'='1", 'missing']));
    expect(found.map((f) => f.id).sort()).toEqual([ids[0], ids[2]].sort());
    expect(await t.ctx.db.select().from(sources).where(inJsonList(sources.id, []))).toEqual([]);
  });

  it('takes the list as a prepared statement placeholder too', async () => {
    const ids = [newId(), newId()];
    await t.ctx.db.insert(sources).values(ids.map((id, i) => ({ id, handle: `json-p${i}`, kind: 'person' as const, name: `P ${i}` })));
    const q = t.ctx.db.select({ id: sources.id }).from(sources).where(inJsonList(sources.id, sql.placeholder('ids'))).prepare('tp_test_sources_by_ids');
    expect((await q.execute({ ids: JSON.stringify([ids[1], 'missing']) })).map((r) => r.id)).toEqual([ids[1]]);
    expect(await q.execute({ ids: '[]' })).toEqual([]);
  });

  it('probes the primary key for a batch of ids, where "in (select ...)" scanned a whole small table', async () => {
    // 2,000 narrow rows, as a fan-out's endpoints: the planner, unable to size a JSON list, preferred a
    // sequential scan and a hash join for `in (select ...)`; a batch looked up 100 of them that way.
    const owner = newId();
    await t.ctx.db.insert(sources).values({ id: owner, handle: 'json-owner', kind: 'person', name: 'Owner' });
    const ids = Array.from({ length: 2000 }, () => newId());
    await t.ctx.db.insert(webhooks).select(jsonRows(webhooks, ids.map((id, i) => ({ id, ownerId: owner, url: `http://127.0.0.1:9/${i}`, secret: 'whsec_x', createdAt: new Date() }))));
    await t.ctx.db.execute(sql`analyze webhooks`);
    const batch = ids.slice(0, 100);
    const query = t.ctx.db.select({ id: webhooks.id }).from(webhooks).where(inJsonList(webhooks.id, batch));
    const [explained] = (await t.ctx.db.execute(sql`explain (format json) ${query.getSQL()}`)) as unknown as { 'QUERY PLAN': unknown }[];
    const plan = JSON.stringify(explained!['QUERY PLAN']);
    expect(plan).toContain('webhooks_pkey');
    expect(plan).not.toContain('Seq Scan');
    expect((await query).length).toBe(100);
  });
});
