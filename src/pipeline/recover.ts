import { and, asc, eq, gt, isNotNull, isNull, lt, ne, type SQL } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { pagesById } from '../db/keyset.js';
import { deliveries, outbox } from '../db/schema.js';
import type { Enqueuer } from './enqueue.js';
import type { Queues } from './queues.js';

/**
 * Fan-outs relayed this recently are run again, which lists their deliveries in the same batches under
 * the same job ids; older deliveries still waiting are queued directly. A fan-out of 100,000 followers
 * takes under a minute.
 */
export const RECENT_MS = 15 * 60 * 1000;
const PAGE = 1000;

export interface Requeued {
  /** Outbox rows handed back to the relay (their fan-outs run again; fan-out is idempotent). */
  fanOuts: number;
  /** Queued deliveries older than the fan-outs run again, put in batch jobs again. */
  queued: number;
  /** Deliveries waiting for a retry, given their retry job again (due now). */
  retrying: number;
  /** Quiet-hours releases scheduled again. */
  releases: number;
}

/**
 * Puts back into Redis everything PostgreSQL says is unfinished, for a Redis that lost its data (a
 * restart without persistence, a failover to an empty replica): every job is derived from a row, and
 * every job id is deterministic, so what still exists is not added twice. It also runs when a worker
 * first meets a Redis (a new deployment, a new QUEUE_PREFIX); then the one thing that can happen twice
 * is a delivery older than RECENT_MS still waiting in its fan-out's batch, which gets a second batch:
 * a repeat at worst, with the same `webhook-id`, never a loss.
 */
export async function requeueFromDatabase(deps: { ctx: Pick<AppContext, 'db' | 'clock'>; enqueue: Pick<Enqueuer, 'deliver' | 'retry' | 'release'> }): Promise<Requeued> {
  const { db } = deps.ctx;
  const now = deps.ctx.clock.now();
  const recent = new Date(now.getTime() - RECENT_MS);
  const back = await db.update(outbox).set({ relayedAt: null }).where(gt(outbox.relayedAt, recent)).returning({ id: outbox.id });
  const result: Requeued = { fanOuts: back.length, queued: 0, retrying: 0, releases: 0 };

  const deliveriesWhere = (where: SQL | undefined) =>
    pagesById(
      (after, limit) =>
        db
          .select({ id: deliveries.id, route: deliveries.route, attempts: deliveries.attempts })
          .from(deliveries)
          .where(and(where, after ? gt(deliveries.id, after) : undefined))
          .orderBy(asc(deliveries.id))
          .limit(limit),
      PAGE,
    );

  // Email deliveries wait for the digest, which reads them from the table: they need no job.
  const waiting = and(eq(deliveries.state, 'queued'), isNull(deliveries.holdUntil), ne(deliveries.route, 'email'), lt(deliveries.createdAt, recent));
  for await (const page of deliveriesWhere(waiting)) {
    await deps.enqueue.deliver(page.map((d) => ({ id: d.id, route: d.route })));
    result.queued += page.length;
  }
  for await (const page of deliveriesWhere(eq(deliveries.state, 'retrying'))) {
    for (const d of page) await deps.enqueue.retry({ deliveryId: d.id, route: d.route, attemptsBefore: d.attempts }, 0);
    result.retrying += page.length;
  }
  const held = await db
    .selectDistinct({ personId: deliveries.subscriberId, until: deliveries.holdUntil })
    .from(deliveries)
    .where(and(eq(deliveries.state, 'queued'), isNotNull(deliveries.holdUntil)));
  for (const h of held) {
    await deps.enqueue.release(h.personId, h.until!, h.until!.getTime() - now.getTime());
    result.releases++;
  }
  return result;
}

export interface LostQueueWatchOptions {
  ctx: Pick<AppContext, 'db' | 'clock' | 'log'>;
  queues: Pick<Queues, 'claimMarker' | 'dropMarker'>;
  enqueue: Pick<Enqueuer, 'deliver' | 'retry' | 'release'>;
  /** How often the marker is checked (default 5 s). */
  everyMs?: number;
}

/**
 * Checks now and then that Redis still holds the marker key set when our queues were first used there.
 * A missing marker means a Redis that is new to us or lost its data; the worker that sets it again
 * requeues from PostgreSQL. While Redis is away the check fails quietly and runs again later.
 */
export function watchForLostQueues(opts: LostQueueWatchOptions): { stop(): void } {
  const log = opts.ctx.log.child({ name: 'queue-recovery' });
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      if (!(await opts.queues.claimMarker())) return;
      try {
        const r = await requeueFromDatabase(opts);
        if (r.fanOuts || r.queued || r.retrying || r.releases) log.warn(r, 'Redis held none of our queues: unfinished work requeued from PostgreSQL');
      } catch (err) {
        log.error({ err }, 'requeueing from PostgreSQL failed; the next check tries again');
        await opts.queues.dropMarker().catch(() => undefined);
      }
    } catch {
      // Redis is away: the next check asks again.
    } finally {
      running = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), opts.everyMs ?? 5000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
