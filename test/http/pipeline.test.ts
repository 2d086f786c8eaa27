import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { deliveries, webhooks } from '../../src/db/schema.js';
import type { PipelineApi } from '../../src/http/pipeline-api.js';
import { createWebhookChannel } from '../../src/integrations/webhooks/channel.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/index.js';
import { REDIS_URL } from '../helpers/db.js';
import { expectProblem, startHarness, type Harness } from './harness.js';

/** The API against the pipeline's real commands (web role: relay and commands, no workers), on real Redis. */
let h: Harness;
let pipeline: Pipeline;
const api: PipelineApi = {
  sendTestEvent: (id) => pipeline.sendTestEvent(id),
  redeliver: (id) => pipeline.redeliver(id),
  sendDigestsNow: () => Promise.resolve({ sent: 0 }),
};
let alice: { row: { id: string }; token: string };
let webhookId: string;
let followId: string;

beforeAll(async () => {
  h = await startHarness({ pipeline: api });
  pipeline = await createPipeline({ ctx: h.t.ctx, redisUrl: REDIS_URL, prefix: h.t.prefix, messengers: {}, role: 'web', channels: { webhook: createWebhookChannel({ ctx: h.t.ctx }) } });
  alice = await h.person('alice');
  const w = await h.call('POST', '/api/v1/webhooks', { token: alice.token, body: { url: 'http://127.0.0.1:9/hook' } });
  webhookId = w.body.id;
  const f = await h.call('POST', '/api/v1/follows', { token: alice.token, body: { target: '#deploy', webhook: webhookId } });
  followId = f.body.id;
});
afterAll(async () => {
  // Closing the harness deletes the test's database and Redis prefix.
  await pipeline?.close();
  await h?.close();
});

async function failedDelivery(statusId: string, state: 'failed' | 'retrying' = 'failed'): Promise<string> {
  const id = newId();
  await h.t.database.db.insert(deliveries).values({
    id,
    event: 'status.created',
    statusId,
    subscriberKind: 'webhook',
    subscriberId: webhookId,
    route: 'webhook',
    followId,
    state,
    attempts: 8,
    lastError: 'HTTP 500',
    dedupeKey: `t-${id}`,
  });
  return id;
}

describe('test events and re-sends through the real pipeline', () => {
  it('POST /webhooks/:id/test queues a webhook.test delivery and its job; the log shows it', async () => {
    const r = await h.call('POST', `/api/v1/webhooks/${webhookId}/test`, { token: alice.token });
    expect(r.status).toBe(202);
    const id = r.body.delivery_id as string;
    const [row] = await h.t.database.db.select().from(deliveries).where(eq(deliveries.id, id));
    expect(row).toMatchObject({ event: 'webhook.test', subscriberKind: 'webhook', subscriberId: webhookId, state: 'queued' });
    expect((await pipeline.queues.deliver.getJob(id))?.data).toEqual({ deliveryId: id, route: 'webhook' });
    const log = await h.call('GET', `/api/v1/webhooks/${webhookId}/deliveries`, { token: alice.token });
    expect(log.body.items[0]).toMatchObject({ id, event: 'webhook.test', state: 'queued', attempts: 0, route: 'webhook' });
  });

  it('POST /deliveries/:id/redeliver puts a failed delivery back in the queue with fresh attempts', async () => {
    const s = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'shipped #deploy' } });
    const id = await failedDelivery(s.body.id);
    const r = await h.call('POST', `/api/v1/deliveries/${id}/redeliver`, { token: alice.token });
    expect(r.status, r.text).toBe(202);
    const [row] = await h.t.database.db.select().from(deliveries).where(eq(deliveries.id, id));
    expect(row).toMatchObject({ state: 'queued', attempts: 0, lastError: null });
    const jobs = await pipeline.queues.deliver.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.some((j) => j.data.deliveryId === id && j.id !== id)).toBe(true);
  });

  it("the pipeline's refusals arrive as problems: 409 while retrying, 422 for a deleted status or a disabled endpoint", async () => {
    const s = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'again #deploy' } });
    expectProblem(await h.call('POST', `/api/v1/deliveries/${await failedDelivery(s.body.id, 'retrying')}/redeliver`, { token: alice.token }), 409, /being retried/);

    const gone = await h.call('POST', '/api/v1/statuses', { token: alice.token, body: { text: 'oops #deploy' } });
    const goneDelivery = await failedDelivery(gone.body.id);
    expect((await h.call('DELETE', `/api/v1/statuses/${gone.body.id}`, { token: alice.token })).status).toBe(204);
    expectProblem(await h.call('POST', `/api/v1/deliveries/${goneDelivery}/redeliver`, { token: alice.token }), 422, /deleted/);

    const d = await failedDelivery(s.body.id);
    await h.t.database.db.update(webhooks).set({ enabled: false }).where(eq(webhooks.id, webhookId));
    try {
      expectProblem(await h.call('POST', `/api/v1/deliveries/${d}/redeliver`, { token: alice.token }), 422, /cannot be sent again|turned off/);
    } finally {
      await h.t.database.db.update(webhooks).set({ enabled: true }).where(eq(webhooks.id, webhookId));
    }
  });
});
