import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.js';
import { smsNumbers } from '../../../src/db/schema.js';
import { createSms } from '../../../src/integrations/sms/index.js';
import { createWebhookChannel } from '../../../src/integrations/webhooks/channel.js';
import { defaultChannels, startWorkers, type Workers } from '../../../src/pipeline/index.js';
import { createQueues } from '../../../src/pipeline/queues.js';
import { startFakeTwilio, type FakeTwilio } from '../../fakes/twilio.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { REDIS_URL } from '../../helpers/db.js';
import { addFollow, addPerson, addService, deliveryFor, post, waitUntil } from '../../pipeline/helpers.js';

let twilio: FakeTwilio;
let t: TestContext;
let ctx: AppContext;
let workers: Workers;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  t = await createTestContext({ ...twilio.env(), PUBLIC_URL: 'https://tp.example.test' });
  let kick = () => {};
  ctx = { ...t.ctx, kick: () => kick() };
  const sms = createSms(ctx);
  // As main.ts does: the registry's sms entry is the SMS channel once SMS is configured.
  workers = startWorkers({ ctx, redisUrl: REDIS_URL, prefix: t.prefix, channels: { ...defaultChannels({ ctx, messengers: {} }), webhook: createWebhookChannel({ ctx }), sms: sms.channel }, messengers: {} });
  kick = () => workers.kick();
});
afterAll(async () => {
  await workers?.close();
  const q = createQueues(REDIS_URL, t.prefix);
  for (const x of [q.fanOut, q.deliver, q.deliverBatch, q.retract, q.release]) await x.obliterate({ force: true });
  await q.close();
  await twilio?.close();
  await t?.drop();
});

describe('a status reaches a phone through the one pipeline', () => {
  it('post -> outbox -> fan-out -> deliver worker -> Twilio; the delivery log says sent; a second route still gets its own delivery', async () => {
    const itStatus = await addService(ctx, 'it-status');
    const oncall = await addPerson(ctx, 'oncall');
    await ctx.db.insert(smsNumbers).values({ personId: oncall.id, number: '+15551239999', verifiedAt: ctx.clock.now() });
    await addFollow(ctx, { subscriberKind: 'person', subscriberId: oncall.id, target: itStatus.id, route: 'dm+sms' });
    const s = await post(ctx, itStatus.id, 'VPN is down in Berlin');
    await waitUntil(() => twilio.sent.find((m) => m.to === '+15551239999'), 'the text at the fake Twilio');
    expect(twilio.sent.at(-1)!.body).toBe(`@it-status: VPN is down in Berlin\nhttps://tp.example.test/statuses/${s.id}`);
    const sms = await waitUntil(async () => (await deliveryFor(ctx, s.id, oncall.id, 'sms')).find((d) => d.state === 'sent'), 'the sms delivery to be sent');
    expect(sms).toMatchObject({ route: 'sms', state: 'sent', attempts: 1 });
    // The DM route has its own delivery row (no Slack or Teams here, so it is skipped with its reason).
    const dm = await waitUntil(async () => (await deliveryFor(ctx, s.id, oncall.id, 'dm')).find((d) => d.state !== 'queued'), 'the dm delivery to settle');
    expect(dm).toMatchObject({ state: 'skipped' });
  });
});
