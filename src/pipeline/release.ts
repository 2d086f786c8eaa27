import { and, asc, eq, isNotNull, lte } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { toStatusView } from '../app/status-view.js';
import type { OutboundMessage, StatusView } from '../core/messages.js';
import { inJsonList } from '../db/json-params.js';
import { deliveries, follows, sources, statuses } from '../db/schema.js';
import { reachPerson } from './channels/reach-person.js';
import type { Messengers } from './messenger.js';
import type { PipelineMetrics } from './metrics.js';
import { waitingStatusDeliveries } from '../db/waiting.js';
import type { DeliveryOutcome } from './channel.js';

export interface ReleaseDeps {
  ctx: Pick<AppContext, 'db' | 'clock' | 'config' | 'log'>;
  messengers: Messengers;
  metrics?: PipelineMetrics | undefined;
  /** Statuses listed in the summary; the rest are counted as "and N more". */
  maxShown?: number;
  /** Deliveries settled per summary message. */
  batchSize?: number;
}

export type ReleaseResult = { released: number; skipped: number; outcome: 'sent' | 'skipped' | 'failed' | 'nothing' };

/**
 * The end of a person's quiet hours: every status DM held until now goes out as ONE summary message,
 * and those deliveries are marked sent; direct messages held meanwhile go out first, each as itself. A
 * platform asking to retry makes this throw (the release job retries); everything else settles the
 * deliveries.
 */
export async function releaseHeld(deps: ReleaseDeps, personId: string): Promise<ReleaseResult> {
  const { db } = deps.ctx;
  const maxShown = deps.maxShown ?? 20;
  const batchSize = deps.batchSize ?? 5000;
  const now = deps.ctx.clock.now();
  const [person] = await db.select().from(sources).where(eq(sources.id, personId)).limit(1);
  const result: ReleaseResult = { released: 0, skipped: 0, outcome: 'nothing' };
  const settle = async (ids: string[], set: Partial<typeof deliveries.$inferInsert>) => {
    if (!ids.length) return;
    await db.update(deliveries).set({ updatedAt: now, ...set }).where(inJsonList(deliveries.id, ids));
    if (set.state) deps.metrics?.deliveries.inc({ route: 'dm', state: set.state }, ids.length);
  };

  await releaseDirectMessages(deps, person, now, settle, result);
  for (;;) {
    const rows = await db
      .select({
        id: deliveries.id,
        status: statuses,
        source: { handle: sources.handle, kind: sources.kind, name: sources.name },
        followId: deliveries.followId,
        followState: follows.state,
      })
      .from(deliveries)
      .innerJoin(statuses, eq(statuses.id, deliveries.statusId))
      .innerJoin(sources, eq(sources.id, statuses.sourceId))
      .leftJoin(follows, eq(follows.id, deliveries.followId))
      .where(and(waitingStatusDeliveries(personId, 'dm'), isNotNull(deliveries.holdUntil), lte(deliveries.holdUntil, now)))
      .orderBy(asc(statuses.createdAt), asc(statuses.id))
      .limit(batchSize);
    if (!rows.length) return result;

    const drop = new Map<string, string[]>();
    const keep: typeof rows = [];
    for (const r of rows) {
      const reason = !person
        ? 'person not found'
        : person.switchedOff
          ? 'switched off'
          : r.status.deletedAt
            ? 'status deleted'
            : r.followId && !r.followState
              ? 'unfollowed'
              : r.followState && r.followState !== 'active'
                ? `follow ${r.followState}`
                : // A calendar reminder held past its event's start is not sent (SPEC section 7); `off` above keeps its own reason.
                  r.status.expiresAt && r.status.expiresAt <= now
                  ? 'expired'
                  : null;
      if (reason) drop.set(reason, [...(drop.get(reason) ?? []), r.id]);
      else keep.push(r);
    }
    for (const [reason, ids] of drop) {
      await settle(ids, { state: 'skipped', reason, holdUntil: null });
      result.skipped += ids.length;
    }
    if (keep.length && person) {
      const items: StatusView[] = keep.slice(0, maxShown).map((r) => toStatusView(deps.ctx.config.publicUrl, r.status, r.source));
      const n = keep.length;
      const outcome = await reachPerson(db, deps.messengers, person, {
        kind: 'summary',
        title: `While you were in quiet hours: ${n} status${n === 1 ? '' : 'es'}`,
        items,
        more: Math.max(0, n - items.length),
      });
      // No refs: the summary covers many statuses, so deleting one of them must not delete it.
      await settleReleased(settle, keep.map((r) => r.id), outcome, now, result, false);
    }
    if (rows.length < batchSize) return result;
  }
}

type Settle = (ids: string[], set: Partial<typeof deliveries.$inferInsert>) => Promise<void>;

/** Direct messages from other people held by quiet hours (src/pipeline/channels/dm.ts), oldest first. */
async function releaseDirectMessages(deps: ReleaseDeps, person: typeof sources.$inferSelect | undefined, now: Date, settle: Settle, result: ReleaseResult): Promise<void> {
  const rows = await deps.ctx.db
    .select({ id: deliveries.id, payload: deliveries.payload })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.subscriberKind, 'person'),
        eq(deliveries.subscriberId, person?.id ?? ''),
        eq(deliveries.route, 'dm'),
        eq(deliveries.state, 'queued'),
        eq(deliveries.event, 'notice'),
        isNotNull(deliveries.holdUntil),
        lte(deliveries.holdUntil, now),
      ),
    )
    .orderBy(asc(deliveries.createdAt), asc(deliveries.id));
  for (const r of rows) {
    const message = (r.payload as { message?: OutboundMessage }).message;
    if (!person || person.switchedOff || !message) {
      await settle([r.id], { state: 'skipped', reason: !person ? 'person not found' : person.switchedOff ? 'switched off' : 'no message', holdUntil: null });
      result.skipped++;
      continue;
    }
    await settleReleased(settle, [r.id], await reachPerson(deps.ctx.db, deps.messengers, person, message), now, result, true);
  }
}

/**
 * Records what one released message did for the deliveries it carried. A platform asking to retry
 * throws (the release job retries); a released message is never held again or moved to the digest, so
 * any other outcome settles them as not deliverable.
 */
async function settleReleased(settle: Settle, ids: string[], outcome: DeliveryOutcome, now: Date, result: ReleaseResult, keepRefs: boolean): Promise<void> {
  switch (outcome.kind) {
    case 'retry':
      throw new Error(outcome.error);
    case 'sent':
      await settle(ids, { state: 'sent', sentAt: now, holdUntil: null, attempts: 1, lastError: null, ...(keepRefs ? { refs: outcome.refs ?? [] } : {}) });
      result.released += ids.length;
      result.outcome = 'sent';
      return;
    case 'fail':
      await settle(ids, { state: 'failed', lastError: outcome.reason, holdUntil: null, attempts: 1 });
      result.outcome = 'failed';
      return;
    default:
      await settle(ids, { state: 'skipped', reason: outcome.kind === 'skip' ? outcome.reason : 'not deliverable', holdUntil: null });
      result.skipped += ids.length;
      if (outcome.kind === 'skip') result.outcome = 'skipped';
  }
}
