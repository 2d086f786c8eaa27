import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/app/context.js';
import { createInput, inputForPoll } from '../../../src/app/inputs.js';
import { createWebhookChannel } from '../../../src/integrations/webhooks/channel.js';
import { createInputPoller } from '../../../src/integrations/inputs/poller.js';
import { createPipeline, type Pipeline } from '../../../src/pipeline/index.js';
import { rss, startFeedServer, type FeedServer } from '../../fakes/feed-server.js';
import { WebhookReceiver } from '../../fakes/webhook-receiver.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { REDIS_URL } from '../../helpers/db.js';
import { addFollow, addPerson, addService, addWebhook } from '../../pipeline/helpers.js';

// A polled item travels the whole pipeline like an API post, and its webhook event carries data.input.
let t: TestContext;
let ctx: AppContext;
let receiver: WebhookReceiver;
let srv: FeedServer;
let pipeline: Pipeline;

beforeAll(async () => {
  t = await createTestContext({ ALLOW_PRIVATE_URLS: 'true' });
  receiver = await WebhookReceiver.start();
  srv = await startFeedServer();
  let kick = () => {};
  ctx = { ...t.ctx, kick: () => kick() };
  pipeline = await createPipeline({ ctx, redisUrl: REDIS_URL, prefix: t.prefix, messengers: {}, role: 'all', channels: { webhook: createWebhookChannel({ ctx }) } });
  kick = () => pipeline.kick();
});
afterAll(async () => {
  await pipeline?.close();
  await receiver?.close();
  await srv?.close();
  await t?.drop();
});

describe('webhook payloads of polled statuses', () => {
  it('carry data.input with the feed item', async () => {
    const owner = await addPerson(ctx, 'app-owner');
    const svc = await addService(ctx, 'releases');
    const hook = await addWebhook(ctx, owner.id, receiver.url('/in'));
    receiver.expect('/in', hook.secret);
    await addFollow(ctx, { subscriberKind: 'webhook', subscriberId: hook.id, target: svc.id });
    srv.set('/rel.atom', { body: rss([{ guid: 'v1', title: 'v1.0', link: 'https://rel.example.com/1' }]) });
    const id = (await createInput(ctx, { id: null, isAdmin: true }, 'releases', { kind: 'feed', url: `${srv.url}/rel.atom` })).id;
    const poll = createInputPoller({ ctx });
    const once = async () => poll({ inputId: id, due: (await inputForPoll(ctx.db, id))!.dueAt });
    await once();
    srv.set('/rel.atom', { body: rss([{ guid: 'v2', title: 'v2.0 is out', link: 'https://rel.example.com/2' }, { guid: 'v1', title: 'v1.0', link: 'https://rel.example.com/1' }]) });
    t.clock.advance(1000);
    await once();
    const [e] = await receiver.waitFor(() => receiver.eventsAt('/in').length > 0 && receiver.eventsAt('/in'), 'the event');
    expect(e!.body).toMatchObject({
      type: 'status.created',
      data: {
        text: 'v2.0 is out https://rel.example.com/2',
        platform: 'feed',
        source: { handle: 'releases', kind: 'service' },
        input: { kind: 'feed', id, item: { id: 'v2', link: 'https://rel.example.com/2', title: 'v2.0 is out' } },
      },
    });
  });
});
