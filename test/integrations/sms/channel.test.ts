import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSmsStopped } from '../../../src/app/phones.js';
import { consentLog, smsNumbers, smsSends, sources, statuses } from '../../../src/db/schema.js';
import { createSms, type SmsSetup } from '../../../src/integrations/sms/index.js';
import { createTwilioProvider } from '../../../src/integrations/sms/twilio.js';
import { toRecord } from '../../../src/pipeline/deliver-record.js';
import { createEnqueuer } from '../../../src/pipeline/enqueue.js';
import { fanOut } from '../../../src/pipeline/fan-out.js';
import { createQueues, type Queues } from '../../../src/pipeline/queues.js';
import { startFakeTwilio, TEST_FROM, TEST_SID, type FakeTwilio } from '../../fakes/twilio.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { REDIS_URL } from '../../helpers/db.js';
import { addFollow, addPerson, addService, deliveryFor, post } from '../../pipeline/helpers.js';

const PUBLIC_URL = 'https://tp.example.test';
const ANN = '+15551230001';
let twilio: FakeTwilio;
let t: TestContext;
let sms: SmsSetup;
let queues: Queues;
let ann: { id: string };
let build: { id: string };

beforeAll(async () => {
  twilio = await startFakeTwilio();
  t = await createTestContext({ ...twilio.env(), PUBLIC_URL, SMS_PER_HOUR: '2' });
  sms = createSms(t.ctx);
  queues = createQueues(REDIS_URL, t.prefix);
  ann = await addPerson(t.ctx, 'ann');
  build = await addService(t.ctx, 'build');
  await t.ctx.db.insert(smsNumbers).values({ personId: ann.id, number: ANN, verifiedAt: t.clock.now() });
  await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: ann.id, target: build.id, route: 'dm+sms' });
});
afterAll(async () => {
  await queues?.close();
  await twilio?.close();
  await t?.drop();
});

/** Posts as @build, fans out (the real fan-out), and hands ann's `sms` delivery to the channel. */
async function postAndDeliver(text: string) {
  const s = await post(t.ctx, build.id, text);
  await fanOut({ ctx: t.ctx, enqueue: createEnqueuer(queues, { dm: 5, email: 1, channel: 5, webhook: 3, sms: 5, xmpp: 5 }) }, { outboxId: 1, event: 'status.created', payload: { statusId: s.id } });
  const [row] = await deliveryFor(t.ctx, s.id, ann.id, 'sms');
  expect(row, 'fan-out wrote an sms delivery').toBeDefined();
  return { status: s, delivery: row!, outcome: await sms.channel.deliver(toRecord(row!)) };
}

describe('route sms', () => {
  it('texts the source, the status text and its URL, one message per status', async () => {
    const { status, outcome } = await postAndDeliver('Deploy 42 is green');
    expect(outcome).toEqual({ kind: 'sent' });
    expect(twilio.sent.at(-1)).toMatchObject({ to: ANN, from: TEST_FROM, body: `@build: Deploy 42 is green\n${PUBLIC_URL}/statuses/${status.id}` });
  });

  it('cuts a long status to 160 characters and still sends one message', async () => {
    const before = twilio.sent.length;
    const { outcome } = await postAndDeliver(`Outage ${'x'.repeat(900)}`);
    expect(outcome).toEqual({ kind: 'sent' });
    expect(twilio.sent.length).toBe(before + 1);
    expect(twilio.sent.at(-1)!.body.split('\n')[0]).toHaveLength('@build: '.length + 160);
  });

  it('SMS_PER_HOUR: past the cap, statuses wait for ONE summary text, sent when the hour allows', async () => {
    const before = twilio.sent.length;
    const third = await postAndDeliver('third');
    // The first held back carries the summary: it comes back when the oldest text leaves the window.
    expect(third.outcome).toMatchObject({ kind: 'retry' });
    const wait = (third.outcome as { retryAfterMs: number }).retryAfterMs;
    expect(wait).toBeGreaterThan(59 * 60_000);
    expect(wait).toBeLessThanOrEqual(61 * 60_000);
    expect((await postAndDeliver('fourth')).outcome).toEqual({ kind: 'skip', reason: 'over SMS_PER_HOUR (2): counted in one summary text' });
    expect((await postAndDeliver('fifth')).outcome).toMatchObject({ kind: 'skip' });
    expect(twilio.sent.length).toBe(before);
    expect((await t.ctx.db.select().from(smsNumbers).where(eq(smsNumbers.personId, ann.id)))[0]).toMatchObject({ waiting: { build: 3 }, summaryDeliveryId: third.delivery.id });

    // Too early: it waits again.
    expect(await sms.channel.deliver(toRecord(third.delivery))).toMatchObject({ kind: 'retry' });
    t.clock.advance(61 * 60_000);
    expect(await sms.channel.deliver(toRecord(third.delivery))).toEqual({ kind: 'sent' });
    expect(twilio.sent.length).toBe(before + 1);
    expect(twilio.sent.at(-1)!.body).toBe('3 statuses not texted (limit 2 texts an hour): @build 3. Reply "get build" for the latest.');
    expect((await t.ctx.db.select().from(smsNumbers).where(eq(smsNumbers.personId, ann.id)))[0]).toMatchObject({ waiting: {}, summaryDeliveryId: null });
    // The summary counts as one text; the next status goes as itself.
    expect((await postAndDeliver('sixth')).outcome).toEqual({ kind: 'sent' });
    t.clock.advance(61 * 60_000);
  });

  it('the summary goes even when the status that carries it was deleted meanwhile', async () => {
    await postAndDeliver('one');
    await postAndDeliver('two');
    const carrier = await postAndDeliver('three');
    expect(carrier.outcome).toMatchObject({ kind: 'retry' });
    await t.ctx.db.update(statuses).set({ deletedAt: t.clock.now() }).where(eq(statuses.id, carrier.status.id));
    t.clock.advance(61 * 60_000);
    expect(await sms.channel.deliver(toRecord(carrier.delivery))).toEqual({ kind: 'sent' });
    expect(twilio.sent.at(-1)!.body).toMatch(/^1 status not texted \(limit 2 texts an hour\): @build 1\./);
    t.clock.advance(61 * 60_000);
  });

  it('quiet hours make a status wait until they end; off skips it', async () => {
    await t.ctx.db.update(sources).set({ quietStart: '09:00', quietEnd: '23:00' }).where(eq(sources.id, ann.id));
    const q = await postAndDeliver('in quiet hours');
    expect(q.outcome).toMatchObject({ kind: 'retry', error: 'waiting: quiet hours or SMS_PER_HOUR' });
    await t.ctx.db.update(sources).set({ quietStart: null, quietEnd: null }).where(eq(sources.id, ann.id));
    expect(await sms.channel.deliver(toRecord(q.delivery))).toEqual({ kind: 'sent' });
    await t.ctx.db.update(sources).set({ switchedOff: true }).where(eq(sources.id, ann.id));
    const s = await post(t.ctx, build.id, 'while off');
    await fanOut({ ctx: t.ctx, enqueue: createEnqueuer(queues, { dm: 5, email: 1, channel: 5, webhook: 3, sms: 5, xmpp: 5 }) }, { outboxId: 1, event: 'status.created', payload: { statusId: s.id } });
    expect((await deliveryFor(t.ctx, s.id, ann.id, 'sms'))[0]).toMatchObject({ state: 'skipped', reason: 'switched off' });
    await t.ctx.db.update(sources).set({ switchedOff: false }).where(eq(sources.id, ann.id));
    t.clock.advance(61 * 60_000);
  });

  it('Twilio 20429 is a retry after its Retry-After, and gives the slot back', async () => {
    twilio.rateLimitNext(1, 30);
    const r = await postAndDeliver('rate limited');
    expect(r.outcome).toMatchObject({ kind: 'retry', retryAfterMs: 30_000 });
    expect((r.outcome as { error: string }).error).toMatch(/Twilio 429 \(error 20429\)/);
    expect(await t.ctx.db.select().from(smsSends).where(eq(smsSends.deliveryId, r.delivery.id))).toHaveLength(0);
    expect(await sms.channel.deliver(toRecord(r.delivery))).toEqual({ kind: 'sent' });
    t.clock.advance(61 * 60_000);
  });

  it('Twilio 21610 means the number texted STOP: not retried, the number is stopped and that is recorded', async () => {
    twilio.stopped.add(ANN);
    const r = await postAndDeliver('after STOP at Twilio');
    expect(r.outcome).toEqual({ kind: 'skip', reason: 'texts stopped (STOP)' });
    expect((await t.ctx.db.select().from(smsNumbers).where(eq(smsNumbers.personId, ann.id)))[0]!.stoppedAt).toBeInstanceOf(Date);
    const [c] = await t.ctx.db.select().from(consentLog).where(and(eq(consentLog.subjectId, ann.id), eq(consentLog.action, 'sms_stop')));
    expect(c).toMatchObject({ object: `sms:${ANN}`, via: 'sms' });
    expect((c!.detail as { reason: string }).reason).toMatch(/21610/);
    const refusedBefore = twilio.refused.length;
    expect((await postAndDeliver('still stopped')).outcome).toEqual({ kind: 'skip', reason: 'texts stopped (STOP)' });
    expect(twilio.refused.length).toBe(refusedBefore);
    twilio.stopped.delete(ANN);
    await setSmsStopped(t.ctx, ANN, false, { via: 'sms', reason: 'START' });
    expect((await postAndDeliver('back on')).outcome).toEqual({ kind: 'sent' });
  });

  it('only a verified number receives anything', async () => {
    const bob = await addPerson(t.ctx, 'bob');
    await addFollow(t.ctx, { subscriberKind: 'person', subscriberId: bob.id, target: build.id, route: 'sms' });
    await t.ctx.db.insert(smsNumbers).values({ personId: bob.id, number: '+15551230009' });
    const s = await post(t.ctx, build.id, 'bob is not verified');
    await fanOut({ ctx: t.ctx, enqueue: createEnqueuer(queues, { dm: 5, email: 1, channel: 5, webhook: 3, sms: 5, xmpp: 5 }) }, { outboxId: 1, event: 'status.created', payload: { statusId: s.id } });
    const [row] = await deliveryFor(t.ctx, s.id, bob.id, 'sms');
    const before = twilio.sent.length;
    expect(await sms.channel.deliver(toRecord(row!))).toEqual({ kind: 'skip', reason: 'no verified phone number' });
    expect(twilio.sent.length).toBe(before);
  });
});

describe('the Twilio client', () => {
  it('bad credentials are a failure, not a retry (401, error 20003)', async () => {
    const bad = createTwilioProvider({ accountSid: TEST_SID, authToken: 'wrong', from: TEST_FROM, apiUrl: twilio.url });
    const r = await bad.send(ANN, 'hello');
    expect(r).toMatchObject({ kind: 'fail' });
    expect((r as { error: string }).error).toMatch(/^Twilio 401 \(error 20003\): Authenticate/);
  });

  it('an unreachable API is a retry', async () => {
    const gone = createTwilioProvider({ accountSid: TEST_SID, authToken: 'x', from: TEST_FROM, apiUrl: 'http://127.0.0.1:1' });
    expect(await gone.send(ANN, 'hello')).toMatchObject({ kind: 'retry' });
  });
});
