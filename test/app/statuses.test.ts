import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { follow, resolveTarget, decideFollowRequest, setGlobalSwitch } from '../../src/app/follows.js';
import { createPerson, type SourceRow } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { deleteStatus, getStatus, homeTimeline, postStatus, sourceTimeline } from '../../src/app/statuses.js';
import { requireSource } from '../../src/app/people.js';
import { outbox, statuses } from '../../src/db/schema.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

let t: TestContext;
let alice: SourceRow, bob: SourceRow, carol: SourceRow;
beforeAll(async () => {
  t = await createTestContext();
  alice = await createPerson(t.ctx, { name: 'Alice', email: 'alice@corp.com' });
  bob = await createPerson(t.ctx, { name: 'Bob', email: 'bob@corp.com' });
  carol = await createPerson(t.ctx, { name: 'Carol', email: 'carol@corp.com' });
  await createService(t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['alice'] });
});
afterAll(() => t.drop());

describe('posting statuses', () => {
  it('writes the status, its entities and an outbox record together, and asks the relay to run', async () => {
    const kicks = t.kicks;
    const { status, created } = await postStatus(t.ctx, { sourceId: alice.id, text: '  Shipped #Deploy for @bob: $42.50 https://ci.example/1  ', platform: 'api' });
    expect(created).toBe(true);
    expect(status.text).toBe('Shipped #Deploy for @bob: $42.50 https://ci.example/1');
    expect(status.entities).toEqual({ mentions: ['bob'], tags: ['deploy'], urls: ['https://ci.example/1'], amounts: [{ value: '42.50', currency: 'USD' }] });
    expect(status.source).toEqual({ handle: 'alice', kind: 'person', name: 'Alice' });
    const rows = await t.database.db.select().from(outbox).where(eq(outbox.event, 'status.created'));
    expect(rows.map((r) => r.payload.statusId)).toContain(status.id);
    expect(t.kicks).toBe(kicks + 1);
  });

  it('a repeated dedupe key returns the first status and writes nothing new', async () => {
    const a = await postStatus(t.ctx, { sourceId: alice.id, text: 'once', platform: 'api', dedupeKey: 'tok:x:k1' });
    const b = await postStatus(t.ctx, { sourceId: alice.id, text: 'once', platform: 'api', dedupeKey: 'tok:x:k1' });
    expect(b).toEqual({ status: a.status, created: false });
    const rows = await t.database.db.select().from(statuses).where(eq(statuses.dedupeKey, 'tok:x:k1'));
    expect(rows).toHaveLength(1);
  });

  it('refuses empty and over-long text with the length', async () => {
    await expect(postStatus(t.ctx, { sourceId: alice.id, text: '   ', platform: 'api' })).rejects.toMatchObject({ code: 'rule' });
    await expect(postStatus(t.ctx, { sourceId: alice.id, text: 'x'.repeat(1001), platform: 'api' })).rejects.toThrow(/1,001/);
    await expect(postStatus(t.ctx, { sourceId: alice.id, text: '😀'.repeat(1000), platform: 'api' })).resolves.toMatchObject({ created: true });
  });
});

describe('visibility', () => {
  it('a protected source is readable by owners and approved followers only', async () => {
    const payroll = await requireSource(t.ctx, '@payroll');
    const { status } = await postStatus(t.ctx, { sourceId: payroll.id, text: 'Salaries paid', platform: 'api' });
    await expect(getStatus(t.ctx, status.id, { id: bob.id, isAdmin: false })).rejects.toMatchObject({ code: 'not_found' });
    await expect(getStatus(t.ctx, status.id, { id: alice.id, isAdmin: false })).resolves.toMatchObject({ view: { text: 'Salaries paid' } });
    await expect(sourceTimeline(t.ctx, payroll, { id: null, isAdmin: false }, { limit: 10 })).rejects.toMatchObject({ code: 'not_found' });

    const req = await follow(t.ctx, { subscriber: { kind: 'person', id: bob.id }, actor: { id: bob.id, isAdmin: false }, target: await resolveTarget(t.ctx, '@payroll'), route: 'dm', via: 'api' });
    expect(req.pending).toBe(true);
    await expect(decideFollowRequest(t.ctx, { actor: { id: bob.id, isAdmin: false }, followId: req.follow.id, decision: 'approve', via: 'api' })).rejects.toMatchObject({ code: 'forbidden' });
    await decideFollowRequest(t.ctx, { actor: { id: alice.id, isAdmin: false }, followId: req.follow.id, decision: 'approve', via: 'api' });
    await expect(getStatus(t.ctx, status.id, { id: bob.id, isAdmin: false })).resolves.toMatchObject({ view: { text: 'Salaries paid' } });
    const home = await homeTimeline(t.ctx, bob.id, { limit: 10 });
    expect(home.items.map((s) => s.text)).toContain('Salaries paid');
    const carolHome = await homeTimeline(t.ctx, carol.id, { limit: 10 });
    expect(carolHome.items).toHaveLength(0);
  });

  it('home timeline includes followed tags and tracked words, keeps switched-off follows readable, and paginates', async () => {
    await follow(t.ctx, { subscriber: { kind: 'person', id: carol.id }, actor: { id: carol.id, isAdmin: false }, target: await resolveTarget(t.ctx, '#deploy'), route: 'dm', via: 'api' });
    await follow(t.ctx, { subscriber: { kind: 'person', id: carol.id }, actor: { id: carol.id, isAdmin: false }, target: await resolveTarget(t.ctx, 'outage'), route: 'dm', via: 'api' });
    t.clock.advance(60_000);
    await postStatus(t.ctx, { sourceId: bob.id, text: 'Small outage in EU', platform: 'api' });
    await setGlobalSwitch(t.ctx, carol.id, false, 'api');
    const page1 = await homeTimeline(t.ctx, carol.id, { limit: 1 });
    expect(page1.items).toHaveLength(1);
    expect(page1.items[0]?.text).toBe('Small outage in EU');
    const page2 = await homeTimeline(t.ctx, carol.id, { limit: 10, before: page1.next! });
    expect(page2.items.map((s) => s.text)).toEqual(['Shipped #Deploy for @bob: $42.50 https://ci.example/1']);
  });

  it('a deleted status disappears and announces its deletion; only owners may delete', async () => {
    const { status } = await postStatus(t.ctx, { sourceId: alice.id, text: 'oops', platform: 'api' });
    await expect(deleteStatus(t.ctx, { id: bob.id, isAdmin: false }, status.id)).rejects.toMatchObject({ code: 'forbidden' });
    await deleteStatus(t.ctx, { id: alice.id, isAdmin: false }, status.id);
    await expect(getStatus(t.ctx, status.id, { id: alice.id, isAdmin: false })).rejects.toMatchObject({ code: 'not_found' });
    const rows = await t.database.db.select().from(outbox).where(eq(outbox.event, 'status.deleted'));
    expect(rows.map((r) => r.payload.statusId)).toEqual([status.id]);
  });
});
