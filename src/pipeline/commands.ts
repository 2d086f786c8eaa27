import { and, eq } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { conflict, notFound, rule } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { deliveries, follows, webhooks } from '../db/schema.js';
import { judgeFollows, loadAudience } from './audience.js';
import type { Enqueuer } from './enqueue.js';

export interface CommandDeps {
  ctx: Pick<AppContext, 'db' | 'clock'>;
  enqueue: Pick<Enqueuer, 'deliver'>;
}

/**
 * `POST /api/v1/webhooks/:id/test`: a `webhook.test` delivery to one endpoint, sent now.
 * Throws not_found for an unknown endpoint. Whether the caller may use it is the HTTP layer's check.
 */
export async function sendTestEvent(deps: CommandDeps, webhookId: string): Promise<{ deliveryId: string }> {
  const { db } = deps.ctx;
  const [w] = await db.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.id, webhookId)).limit(1);
  if (!w) throw notFound(`No webhook endpoint ${webhookId}.`);
  const now = deps.ctx.clock.now();
  const id = newId(now.getTime());
  await db.insert(deliveries).values({
    id,
    event: 'webhook.test',
    subscriberKind: 'webhook',
    subscriberId: w.id,
    route: 'webhook',
    state: 'queued',
    dedupeKey: `webhook.test:${id}`,
    createdAt: now,
    updatedAt: now,
  });
  await deps.enqueue.deliver([{ id, route: 'webhook' }]);
  return { deliveryId: id };
}

/**
 * `POST /api/v1/deliveries/:id/redeliver`: sends one delivery again, whatever its state, with the same
 * delivery id (so the same `webhook-id`: receivers dedupe). Attempts start afresh. Consent is checked
 * again: a status no longer permitted, deleted or unfollowed is refused (422), a delivery being retried
 * right now is refused (409), an unknown one is 404. Email deliveries go back into the next digest.
 */
export async function redeliver(deps: CommandDeps, deliveryId: string): Promise<void> {
  const { db } = deps.ctx;
  const [d] = await db.select().from(deliveries).where(eq(deliveries.id, deliveryId)).limit(1);
  if (!d) throw notFound(`No delivery ${deliveryId}.`);
  if (d.state === 'retrying') throw conflict('This delivery is being retried right now; wait until it is sent or failed.');

  if (d.subscriberKind === 'webhook' && d.event !== 'webhook.test') {
    const [w] = await db.select({ enabled: webhooks.enabled }).from(webhooks).where(eq(webhooks.id, d.subscriberId)).limit(1);
    if (!w) throw rule('The webhook endpoint was deleted.');
    if (!w.enabled) throw rule('The webhook endpoint is turned off; turn it on first (PATCH /api/v1/webhooks/:id {"enabled": true}).');
  }

  if (d.event === 'status.created' && d.statusId) {
    const a = await loadAudience(db, d.statusId);
    if (!a || a.status.deletedAt) throw rule('The status was deleted, so it cannot be sent again.');
    if (d.followId) {
      const [f] = await db.select().from(follows).where(eq(follows.id, d.followId)).limit(1);
      if (!f) throw rule('The follow that brought this status no longer exists, so it cannot be sent again.');
      const [verdict] = await judgeFollows(db, a, [f]);
      if (!verdict) throw rule('This status no longer matches the follow (filters), so it cannot be sent again.');
      if (!verdict.deliver) throw rule(`This delivery cannot be sent again: ${verdict.reason}.`);
    }
  }
  const now = deps.ctx.clock.now();
  // Only one re-send wins when two arrive at once: the row must still be in the state we read.
  const claimed = await db
    .update(deliveries)
    .set({ state: 'queued', attempts: 0, lastError: null, reason: null, holdUntil: null, sentAt: null, updatedAt: now })
    .where(and(eq(deliveries.id, d.id), eq(deliveries.state, d.state)))
    .returning({ id: deliveries.id });
  if (!claimed.length) throw conflict('This delivery changed while being re-sent; try again.');
  // Still queued: its first job may exist, and the same job id makes a second one a no-op.
  await deps.enqueue.deliver([{ id: d.id, route: d.route }], { resend: d.state !== 'queued' });
}
