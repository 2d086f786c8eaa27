import { and, eq, inArray, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { AppContext } from '../app/context.js';
import { deliveries } from '../db/schema.js';
import type { Channel, ChannelRegistry, DeliveryOutcome, DeliveryRecord } from './channel.js';
import type { Enqueuer } from './enqueue.js';
import { chaseLateDeletions } from './late-deletions.js';
import type { PipelineMetrics } from './metrics.js';

/** The columns an attempt reads (whole rows, for a batch of 100, showed in the profile). */
export const attemptColumns = {
  id: deliveries.id,
  event: deliveries.event,
  statusId: deliveries.statusId,
  subscriberKind: deliveries.subscriberKind,
  subscriberId: deliveries.subscriberId,
  route: deliveries.route,
  followId: deliveries.followId,
  state: deliveries.state,
  attempts: deliveries.attempts,
  payload: deliveries.payload,
  refs: deliveries.refs,
  holdUntil: deliveries.holdUntil,
  createdAt: deliveries.createdAt,
};
export type DeliveryRow = { [K in keyof typeof attemptColumns]: (typeof deliveries.$inferSelect)[K] };

/**
 * Counted in SQL: a delivery handed from its batch to a job of its own may be attempted there before the
 * batch has written its own outcome.
 */
export const oneMoreAttempt = sql`${deliveries.attempts} + 1`;

export interface DeliverDeps {
  /** `kick` (optional): the relay picks up a late deletion's outbox row at once rather than at its next poll. */
  ctx: Pick<AppContext, 'db' | 'clock' | 'log'> & Partial<Pick<AppContext, 'kick'>>;
  channels: ChannelRegistry;
  enqueue: Pick<Enqueuer, 'release'>;
  metrics?: PipelineMetrics | undefined;
}

export const toRecord = (d: DeliveryRow): DeliveryRecord => ({
  id: d.id,
  event: d.event,
  statusId: d.statusId,
  subscriberKind: d.subscriberKind,
  subscriberId: d.subscriberId,
  route: d.route,
  followId: d.followId,
  attempts: d.attempts,
  payload: d.payload,
  refs: d.refs,
  createdAt: d.createdAt,
});

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);

type Set = PgUpdateSetSource<typeof deliveries>;

/**
 * Records every outcome but a retry on the delivery's row (and asks for a release job for a hold).
 * Returns the state it left the delivery in, or null for a retry, which the caller schedules.
 */
export async function settle(deps: DeliverDeps, d: DeliveryRow, outcome: DeliveryOutcome, at: Date): Promise<string | null> {
  const { db } = deps.ctx;
  const attempts = oneMoreAttempt;
  const set = (s: Set) => db.update(deliveries).set({ updatedAt: at, ...s }).where(eq(deliveries.id, d.id));
  const count = (state: string) => deps.metrics?.deliveries.inc({ route: d.route, state });
  switch (outcome.kind) {
    case 'sent': {
      const sent: Set = { state: 'sent', refs: outcome.refs ?? [], sentAt: at, attempts, lastError: null, reason: null, holdUntil: null };
      // Still pending, as it was when it was attempted; otherwise it changed meanwhile (see chaseLateDeletions).
      const pending = await db
        .update(deliveries)
        .set({ updatedAt: at, ...sent })
        .where(and(eq(deliveries.id, d.id), inArray(deliveries.state, ['queued', 'retrying'])))
        .returning({ id: deliveries.id });
      if (!pending.length) {
        await set(sent);
        await chaseLateDeletions(deps.ctx, [d]);
      }
      count('sent');
      return 'sent';
    }
    case 'skip':
      await set({ state: 'skipped', reason: outcome.reason, attempts });
      count('skipped');
      return 'skipped';
    case 'fail':
      await set({ state: 'failed', lastError: outcome.reason, attempts });
      count('failed');
      deps.ctx.log.warn({ deliveryId: d.id, route: d.route, reason: outcome.reason }, 'delivery failed for good');
      return 'failed';
    case 'digest':
      // Into the person's email digest instead (quiet hours with quiet_to_digest); no attempt was made.
      await set({ route: 'email', state: 'queued', holdUntil: null });
      count('queued');
      return 'digest';
    case 'hold':
      await set({ state: 'queued', holdUntil: outcome.until });
      count('queued');
      await deps.enqueue.release(d.subscriberId, outcome.until, outcome.until.getTime() - at.getTime());
      return 'held';
    case 'retry':
      return null;
  }
}

/**
 * Marks a delivery `retrying` (its error kept) or, when it has no attempt left, `failed`. `fromBatch`:
 * only while the row still says `queued`; the job it was just handed to may already have moved it on.
 */
export async function markRetry(deps: DeliverDeps, d: DeliveryRow, error: string, at: Date, last: boolean, fromBatch = false): Promise<string> {
  const state = last ? 'failed' : 'retrying';
  const where = fromBatch ? and(eq(deliveries.id, d.id), eq(deliveries.state, 'queued')) : eq(deliveries.id, d.id);
  await deps.ctx.db.update(deliveries).set({ updatedAt: at, state, lastError: error, attempts: oneMoreAttempt }).where(where);
  deps.metrics?.deliveries.inc({ route: d.route, state });
  if (last) deps.ctx.log.warn({ deliveryId: d.id, route: d.route, error, attempts: d.attempts + 1 }, 'delivery failed after its last attempt');
  return state;
}

export async function attempt(channel: Channel, r: DeliveryRecord, log: DeliverDeps['ctx']['log']): Promise<DeliveryOutcome> {
  try {
    return await channel.deliver(r);
  } catch (err) {
    log.warn({ err, deliveryId: r.id, route: r.route }, 'channel threw; retrying');
    return { kind: 'retry', error: errorText(err) };
  }
}

/** A delivery still to attempt: queued (not `retrying`, which has a job of its own) and not held for later. */
export const due = (d: DeliveryRow, now: Date) => d.state === 'queued' && !(d.holdUntil && d.holdUntil > now);
