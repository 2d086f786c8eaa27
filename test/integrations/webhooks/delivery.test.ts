import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.js';
import { writeOutbox } from '../../../src/app/outbox.js';
import { deleteStatus } from '../../../src/app/statuses.js';
import { parseConfig } from '../../../src/config.js';
import { DomainError } from '../../../src/core/errors.js';
import { newId } from '../../../src/core/ids.js';
import { deliveries, outbox, webhooks } from '../../../src/db/schema.js';
import { createWebhookChannel, DISABLE_AFTER_MS } from '../../../src/integrations/webhooks/channel.js';
import type { LookupFn } from '../../../src/net/address-guard.js';
import { toRecord } from '../../../src/pipeline/deliver-record.js';
import { createPipeline, type Pipeline } from '../../../src/pipeline/index.js';
import { WebhookReceiver, type Behaviour } from '../../fakes/webhook-receiver.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { REDIS_URL } from '../../helpers/db.js';
import { addFollow, addPerson, addService, addWebhook, deliveryFor, getDelivery, post, waitUntil } from '../../pipeline/helpers.js';

// The receiver listens on 127.0.0.1, so these tests allow private addresses; the refusal is tested
// below with the guard on. Two retry delays of 50 ms: three attempts.
const env = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_DELAYS: '0.05,0.05', WEBHOOK_TIMEOUT_MS: '2000' };

let t: TestContext;
let ctx: AppContext;
let receiver: WebhookReceiver;
let pipeline: Pipeline;
let owner: Awaited<ReturnType<typeof addPerson>>;
let n = 0;

beforeAll(async () => {
  t = await createTestContext(env);
  receiver = await WebhookReceiver.start();
  let kick = () => {};
  ctx = { ...t.ctx, kick: () => kick() };
  pipeline = await createPipeline({ ctx, redisUrl: REDIS_URL, prefix: t.prefix, messengers: {}, role: 'all', channels: { webhook: createWebhookChannel({ ctx }) } });
  kick = () => pipeline.kick();
  owner = await addPerson(ctx, 'hook-owner');
});

afterAll(async () => {
  // Closing the test's context (t.drop) deletes its Redis prefix too.
  await pipeline?.close();
  await receiver?.close();
  await t?.drop();
});

/** A fresh source with one webhook endpoint following it, answering as told. */
async function endpoint(behaviour?: Behaviour, ownerId = owner.id) {
  n++;
  const path = `/hook-${n}`;
  const src = await addService(ctx, `src-${n}`);
  const hook = await addWebhook(ctx, ownerId, receiver.url(path));
  receiver.expect(path, hook.secret);
  if (behaviour) receiver.answer(path, behaviour);
  await addFollow(ctx, { subscriberKind: 'webhook', subscriberId: hook.id, target: src.id });
  return { path, src, hook };
}

async function settled(statusId: string, hookId: string) {
  return waitUntil(async () => {
    const d = (await deliveryFor(ctx, statusId, hookId)).find((x) => x.event === 'status.created');
    return d && d.state !== 'queued' && d.state !== 'retrying' ? d : null;
  }, 'the webhook delivery');
}

describe('outgoing webhooks', () => {
  it('POSTs a signed status.created whose webhook-id is the delivery id', async () => {
    const { path, src, hook } = await endpoint();
    const s = await post(ctx, src.id, 'Deployed $42.50 of cloud #deploy');
    const [e] = await receiver.waitFor(() => receiver.eventsAt(path).length > 0 && receiver.eventsAt(path), 'the event');
    const d = await settled(s.id, hook.id);
    expect(d).toMatchObject({ state: 'sent', attempts: 1 });
    expect(e!.id).toBe(d.id);
    expect(e!.body).toEqual({
      type: 'status.created',
      timestamp: d.createdAt.toISOString(),
      data: {
        id: s.id,
        url: s.url,
        text: 'Deployed $42.50 of cloud #deploy',
        created_at: s.created_at,
        platform: 'api',
        source: { handle: src.handle, kind: 'service', name: src.name },
        entities: { mentions: [], tags: ['deploy'], urls: [], amounts: [{ value: '42.50', currency: 'USD' }] },
      },
    });
    expect(receiver.badSignatures).toEqual([]);
  });

  it('retries after two 500s and then succeeds, with the same webhook-id every time', async () => {
    const { path, src, hook } = await endpoint({ kind: 'fail', status: 500, times: 2 });
    const s = await post(ctx, src.id, 'third time');
    const d = await settled(s.id, hook.id);
    expect(d).toMatchObject({ state: 'sent', attempts: 3 });
    expect(receiver.requests.filter((r) => r.path === path).map((r) => r.id)).toEqual([d.id, d.id, d.id]);
    expect(receiver.eventsAt(path)).toHaveLength(1);
    const [w] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(w!.failingSince).toBeNull();
  });

  it('one status to many endpoints: each gets its own outcome, and the ones to retry leave their batch', async () => {
    const src = await addService(ctx, `crowd-${++n}`);
    const behaviours: (Behaviour | undefined)[] = [undefined, undefined, undefined, { kind: 'fail', status: 500, times: 2 }, { kind: 'status', status: 500 }, { kind: 'status', status: 410 }];
    const hooks = [];
    for (const [i, b] of behaviours.entries()) {
      const path = `/crowd-${n}-${i}`;
      const hook = await addWebhook(ctx, owner.id, receiver.url(path));
      receiver.expect(path, hook.secret);
      if (b) receiver.answer(path, b);
      await addFollow(ctx, { subscriberKind: 'webhook', subscriberId: hook.id, target: src.id });
      hooks.push({ path, hook });
    }
    const s = await post(ctx, src.id, 'to the crowd');
    const ds = await Promise.all(hooks.map(({ hook }) => settled(s.id, hook.id)));
    expect(ds.map((d) => [d.state, d.attempts])).toEqual([
      ['sent', 1],
      ['sent', 1],
      ['sent', 1],
      ['sent', 3],
      ['failed', 3],
      ['failed', 1],
    ]);
    for (const [i, { path }] of hooks.entries()) {
      // Every attempt carried the delivery's own webhook-id; each endpoint that answered 2xx got it once.
      expect(new Set(receiver.requests.filter((r) => r.path === path).map((r) => r.id))).toEqual(new Set([ds[i]!.id]));
      expect(receiver.eventsAt(path)).toHaveLength(i < 4 ? 1 : 0);
    }
    expect(receiver.badSignatures).toEqual([]);
  });

  it('fails after the last attempt, and a re-send arrives with the same webhook-id', async () => {
    const { path, src, hook } = await endpoint({ kind: 'status', status: 500 });
    const s = await post(ctx, src.id, 'never lands');
    const d = await settled(s.id, hook.id);
    expect(d).toMatchObject({ state: 'failed', attempts: 3, lastError: 'HTTP 500' });
    expect(receiver.hits(path)).toBe(3);
    const [w] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(w!.failingSince).not.toBeNull();

    receiver.answer(path, { kind: 'ok' });
    await pipeline.redeliver(d.id);
    const [e] = await receiver.waitFor(() => receiver.eventsAt(path).length > 0 && receiver.eventsAt(path), 'the re-sent event');
    expect(e!.id).toBe(d.id);
    expect(await waitUntil(async () => ((await getDelivery(ctx, d.id)).state === 'sent' ? getDelivery(ctx, d.id) : null), 'sent')).toMatchObject({ attempts: 1, lastError: null });
    // Re-sending a sent delivery repeats the same webhook-id: the receiver can tell.
    await pipeline.redeliver(d.id);
    await receiver.waitFor(() => receiver.repeats(d.id) === 1, 'the repeat');
  });

  it('disables the endpoint at once on 410 and tells its owner', async () => {
    const boss = await addPerson(ctx, 'gone-owner');
    const { path, src, hook } = await endpoint({ kind: 'status', status: 410 }, boss.id);
    const s = await post(ctx, src.id, 'to a gone endpoint');
    const d = await settled(s.id, hook.id);
    expect(d).toMatchObject({ state: 'failed', attempts: 1, lastError: 'HTTP 410 Gone: endpoint disabled' });
    expect(receiver.hits(path)).toBe(1);
    const [w] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(w).toMatchObject({ enabled: false, disabledReason: 'it answered 410 Gone' });
    const told = await waitUntil(async () => (await ctx.db.select().from(deliveries).where(and(eq(deliveries.subscriberId, boss.id), eq(deliveries.event, 'notice'))))[0], 'the notice');
    expect(JSON.stringify(told.payload)).toMatch(/was turned off: it answered 410 Gone/);

    const s2 = await post(ctx, src.id, 'after it was disabled');
    expect(await settled(s2.id, hook.id)).toMatchObject({ state: 'skipped', reason: 'webhook disabled' });
    const refused = await pipeline.redeliver(d.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).message).toMatch(/turned off/);
  });

  it('does not follow redirects: the delivery fails and the target is never hit', async () => {
    const { path, src, hook } = await endpoint();
    receiver.answer(path, { kind: 'redirect', status: 302, location: receiver.url('/redirect-target') });
    const s = await post(ctx, src.id, 'redirect me');
    const d = await settled(s.id, hook.id);
    expect(d.state).toBe('failed');
    expect(d.lastError).toMatch(/HTTP 302: redirect to .*\/redirect-target not followed/);
    expect(receiver.hits(path)).toBe(3);
    expect(receiver.hits('/redirect-target')).toBe(0);
  });

  it('tells endpoints that received a status when it is deleted', async () => {
    const { path, src, hook } = await endpoint();
    const s = await post(ctx, src.id, 'delete me');
    const created = await settled(s.id, hook.id);
    await deleteStatus(ctx, { id: null, isAdmin: true }, s.id);
    const e = await receiver.waitFor(() => receiver.eventsAt(path).find((x) => x.type === 'status.deleted'), 'status.deleted');
    expect(e.id).not.toBe(created.id);
    expect(e.body.data).toMatchObject({ id: s.id, source: { handle: src.handle } });
    expect(typeof e.body.data.deleted_at).toBe('string');
  });

  it('a status deleted while its sends are in flight still reaches those endpoints as status.deleted', async () => {
    // Two endpoints, one batch: the first answers only once the deletion's fan-out has marked both rows
    // skipped, so the batch records its successes after the deletion went by them.
    const src = await addService(ctx, `in-flight-${++n}`);
    let statusId = '';
    const hooks: { path: string; hook: Awaited<ReturnType<typeof addWebhook>> }[] = [];
    for (const i of [0, 1]) {
      const path = `/in-flight-${n}-${i}`;
      const hook = await addWebhook(ctx, owner.id, receiver.url(path));
      receiver.expect(path, hook.secret);
      hooks.push({ path, hook });
    }
    receiver.answer(hooks[0]!.path, {
      kind: 'after',
      until: async () => {
        await deleteStatus(ctx, { id: null, isAdmin: true }, statusId);
        await waitUntil(async () => {
          const rows = await Promise.all(hooks.map(({ hook }) => deliveryFor(ctx, statusId, hook.id)));
          return rows.every((r) => r.some((d) => d.event === 'status.created' && d.state === 'skipped'));
        }, 'the deletion marking both deliveries skipped');
      },
    });
    for (const { hook } of hooks) await addFollow(ctx, { subscriberKind: 'webhook', subscriberId: hook.id, target: src.id });
    const s = await post(ctx, src.id, 'gone while on its way');
    statusId = s.id;
    for (const { path, hook } of hooks) {
      const e = await receiver.waitFor(() => receiver.eventsAt(path).find((x) => x.type === 'status.deleted'), `status.deleted at ${path}`);
      expect(e.body.data).toMatchObject({ id: s.id });
      expect(receiver.eventsAt(path).map((x) => x.type)).toEqual(['status.created', 'status.deleted']);
      const created = (await deliveryFor(ctx, s.id, hook.id)).find((d) => d.event === 'status.created');
      expect(created).toMatchObject({ state: 'sent', attempts: 1 });
    }
  });

  it('sends webhook.test on request', async () => {
    const { path, hook } = await endpoint();
    const { deliveryId } = await pipeline.sendTestEvent(hook.id);
    const e = await receiver.waitFor(() => receiver.eventsAt(path).find((x) => x.type === 'webhook.test'), 'webhook.test');
    expect(e.id).toBe(deliveryId);
    expect(e.body.data).toMatchObject({ webhook: { id: hook.id, url: hook.url } });
    await expect(pipeline.sendTestEvent('no-such-hook')).rejects.toThrow(/No webhook endpoint/);
  });

  it("sends follow.requested to the apps of a protected source's owners", async () => {
    const keeper = await addPerson(ctx, 'keeper');
    const { path } = await endpoint(undefined, keeper.id);
    const vault = await addService(ctx, 'vault', [keeper.id], { visibility: 'protected' });
    const asker = await addPerson(ctx, 'asker');
    const f = await addFollow(ctx, { subscriberKind: 'person', subscriberId: asker.id, target: vault.id, state: 'pending' });
    await ctx.db.transaction((tx) => writeOutbox(tx, { event: 'follow.requested', payload: { followId: f.id } }));
    ctx.kick();
    const e = await receiver.waitFor(() => receiver.eventsAt(path).find((x) => x.type === 'follow.requested'), 'follow.requested');
    expect(e.body.data).toMatchObject({ follow: { id: f.id, state: 'pending' }, requester: { handle: 'asker', kind: 'person' }, source: { handle: 'vault' } });
  });
});

describe('the webhook channel on its own', () => {
  async function testDelivery(hookId: string) {
    const now = t.clock.now();
    const id = newId();
    await ctx.db.insert(deliveries).values({ id, event: 'webhook.test', subscriberKind: 'webhook', subscriberId: hookId, route: 'webhook', state: 'queued', dedupeKey: `webhook.test:${id}`, createdAt: now, updatedAt: now });
    return toRecord(await getDelivery(ctx, id));
  }

  const guarded = () => ({ ...ctx, config: parseConfig({ ...env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent', WEBHOOK_ALLOW_PRIVATE: 'false' }) });

  it('refuses a loopback URL when private addresses are not allowed', async () => {
    const path = '/guarded';
    const hook = await addWebhook(ctx, owner.id, receiver.url(path));
    receiver.expect(path, hook.secret);
    const out = await createWebhookChannel({ ctx: guarded() }).deliver(await testDelivery(hook.id));
    expect(out).toMatchObject({ kind: 'fail' });
    expect(out.kind === 'fail' && out.reason).toMatch(/refused: 127\.0\.0\.1 resolves to a private, loopback or link-local address/);
    expect(receiver.hits(path)).toBe(0);
  });

  it('refuses a name that resolves to a private address, without connecting', async () => {
    const hook = await addWebhook(ctx, owner.id, 'https://internal.example.test/hook');
    const asked: string[] = [];
    const lookup: LookupFn = (host) => {
      asked.push(host);
      return Promise.resolve([{ address: '10.0.0.5', family: 4 }]);
    };
    const out = await createWebhookChannel({ ctx: guarded(), lookup }).deliver(await testDelivery(hook.id));
    expect(asked).toEqual(['internal.example.test']);
    expect(out.kind === 'fail' && out.reason).toMatch(/internal\.example\.test resolves to a private.*10\.0\.0\.5/);
  });

  it('connects to the address it checked, not to a second DNS answer', async () => {
    const path = '/pinned';
    const hook = await addWebhook(ctx, owner.id, `http://receiver.example.test:${receiver.port}${path}`);
    receiver.expect(path, hook.secret);
    let lookups = 0;
    const lookup: LookupFn = () => {
      lookups++;
      return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    };
    const out = await createWebhookChannel({ ctx, lookup }).deliver(await testDelivery(hook.id));
    expect(out).toEqual({ kind: 'sent' });
    expect(lookups).toBe(1);
    expect(receiver.eventsAt(path)).toHaveLength(1);
  });

  it('asks DNS once per name for a whole batch, and again for the next batch', async () => {
    const paths = ['/batch-dns-a', '/batch-dns-b', '/batch-dns-c'];
    const hooks = await Promise.all(paths.map((path) => addWebhook(ctx, owner.id, `http://hooks.example.test:${receiver.port}${path}`)));
    hooks.forEach((hook, i) => receiver.expect(paths[i]!, hook.secret));
    const asked: string[] = [];
    const lookup: LookupFn = async (host) => {
      asked.push(host);
      await new Promise((r) => setTimeout(r, 20)); // the sends of a batch ask while the first answer is on its way
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const channel = createWebhookChannel({ ctx, lookup });
    const batch = async () => channel.deliverMany!(await Promise.all(hooks.map((h) => testDelivery(h.id))), (fn) => fn());
    expect(await batch()).toEqual([{ kind: 'sent' }, { kind: 'sent' }, { kind: 'sent' }]);
    expect(asked).toEqual(['hooks.example.test']);
    expect(await batch()).toEqual([{ kind: 'sent' }, { kind: 'sent' }, { kind: 'sent' }]);
    expect(asked).toEqual(['hooks.example.test', 'hooks.example.test']);
    for (const path of paths) expect(receiver.eventsAt(path)).toHaveLength(2);
  });

  it('retries a send whose name does not resolve (DNS away), where a private address fails for good', async () => {
    const hook = await addWebhook(ctx, owner.id, 'https://flaky-dns.example.test/hook');
    const lookup: LookupFn = () => Promise.reject(Object.assign(new Error('getaddrinfo EAI_AGAIN flaky-dns.example.test'), { code: 'EAI_AGAIN' }));
    const out = await createWebhookChannel({ ctx: guarded(), lookup }).deliver(await testDelivery(hook.id));
    expect(out).toMatchObject({ kind: 'retry' });
    expect(out.kind === 'retry' && out.error).toMatch(/no answer: flaky-dns\.example\.test does not resolve: getaddrinfo EAI_AGAIN/);
  });

  it('retries when the endpoint hangs past the timeout or resets the connection', async () => {
    const quick = { ...ctx, config: parseConfig({ ...env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent', WEBHOOK_TIMEOUT_MS: '200' }) };
    const channel = createWebhookChannel({ ctx: quick });
    for (const [path, b, error] of [
      ['/hang', { kind: 'hang' }, /no answer: no answer within 200 ms/],
      ['/reset', { kind: 'reset' }, /no answer: connection reset or closed before an answer \(ECONNRESET\)/],
    ] as const) {
      const hook = await addWebhook(ctx, owner.id, receiver.url(path));
      receiver.answer(path, b);
      const out = await channel.deliver(await testDelivery(hook.id));
      expect(out.kind).toBe('retry');
      expect(out.kind === 'retry' && out.error).toMatch(error);
    }
  });

  it('sends the same on the main thread (WEBHOOK_SEND_THREAD=false): signed, and a hang is a retry', async () => {
    const here = { ...ctx, config: parseConfig({ ...env, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent', WEBHOOK_TIMEOUT_MS: '200', WEBHOOK_SEND_THREAD: 'false' }) };
    expect(here.config.webhooks.sendThread).toBe(false);
    const channel = createWebhookChannel({ ctx: here });
    const { path, hook } = await endpoint();
    const d = await testDelivery(hook.id);
    expect(await channel.deliver(d)).toEqual({ kind: 'sent' });
    const e = await receiver.waitFor(() => receiver.eventsAt(path).find((x) => x.id === d.id), 'the event');
    expect(e.type).toBe('webhook.test');
    const hung = await addWebhook(ctx, owner.id, receiver.url('/hang-here'));
    receiver.answer('/hang-here', { kind: 'hang' });
    const out = await channel.deliver(await testDelivery(hung.id));
    expect(out.kind === 'retry' && out.error).toMatch(/no answer: no answer within 200 ms/);
  });

  it('disables an endpoint whose deliveries all failed for 5 days; any success ends the run', async () => {
    const boss = await addPerson(ctx, 'five-days');
    const path = '/five-days';
    const hook = await addWebhook(ctx, boss.id, receiver.url(path), { failingSince: new Date(t.clock.now().getTime() - DISABLE_AFTER_MS + 60_000) });
    receiver.expect(path, hook.secret);
    receiver.answer(path, { kind: 'status', status: 503 });
    const channel = createWebhookChannel({ ctx });
    expect(await channel.deliver(await testDelivery(hook.id))).toEqual({ kind: 'retry', error: 'HTTP 503' });
    t.clock.advance(60_000);
    const out = await channel.deliver(await testDelivery(hook.id));
    expect(out).toEqual({ kind: 'fail', reason: 'HTTP 503; endpoint disabled after 5 days of failures' });
    const [w] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(w).toMatchObject({ enabled: false, disabledReason: 'every delivery failed for 5 days' });
    const notices = await ctx.db.select().from(outbox).where(eq(outbox.event, 'notice'));
    expect(notices.some((o) => o.payload.personId === boss.id)).toBe(true);

    const other = await addWebhook(ctx, boss.id, receiver.url('/recovering'), { failingSince: new Date(t.clock.now().getTime() - 86_400_000) });
    receiver.expect('/recovering', other.secret);
    expect(await channel.deliver(await testDelivery(other.id))).toEqual({ kind: 'sent' });
    const [o] = await ctx.db.select().from(webhooks).where(eq(webhooks.id, other.id));
    expect(o!.failingSince).toBeNull();
  });
});
