import { and, inArray, isNotNull, lt } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { pruneProcessedEvents } from '../app/processed-events.js';
import { firstIdAt } from '../core/ids.js';
import type { Db } from '../db/client.js';
import { deliveries, outbox } from '../db/schema.js';

const DAY = 24 * 60 * 60 * 1000;

/** States a delivery never leaves by itself (a redelivery is the owner's explicit act). */
const FINISHED = ['sent', 'skipped', 'failed'] as const;

/**
 * Deletes finished deliveries made before `before`, oldest first, `batch` rows a statement (short locks, a
 * small WAL burst each), for at most `budgetMs`; a backlog left over goes in the next run. Ids are
 * time-ordered (`firstIdAt`), so the primary key finds the rows without an index on created_at, which
 * would cost every fan-out's insert. Deliveries still under way (queued, retrying, waiting for a digest)
 * stay, however old.
 */
export async function pruneDeliveries(db: Db, before: Date, opts: { batch?: number; budgetMs?: number } = {}): Promise<number> {
  const batch = opts.batch ?? 5000;
  const until = Date.now() + (opts.budgetMs ?? 30_000);
  let total = 0;
  for (;;) {
    const oldest = db
      .select({ id: deliveries.id })
      .from(deliveries)
      .where(and(lt(deliveries.id, firstIdAt(before.getTime())), inArray(deliveries.state, [...FINISHED])))
      .orderBy(deliveries.id)
      .limit(batch);
    const gone = await db.delete(deliveries).where(inArray(deliveries.id, oldest)).returning({ id: deliveries.id });
    total += gone.length;
    if (gone.length < batch || Date.now() >= until) return total;
  }
}

/**
 * Forgets what is no longer needed: inbound event claims older than a day (platforms retry for minutes),
 * outbox rows relayed more than a week ago, and finished deliveries older than DELIVERY_RETENTION_DAYS
 * (a hub of 100,000 people writes 100,000 rows for one status to everyone). Idempotent, so every worker
 * may run it.
 */
export async function housekeep(ctx: Pick<AppContext, 'db' | 'clock' | 'config'>): Promise<{ events: number; outbox: number; deliveries: number }> {
  const now = ctx.clock.now().getTime();
  const events = await pruneProcessedEvents(ctx.db, new Date(now - DAY));
  const rows = await ctx.db
    .delete(outbox)
    .where(and(isNotNull(outbox.relayedAt), lt(outbox.relayedAt, new Date(now - 7 * DAY))))
    .returning({ id: outbox.id });
  const days = ctx.config.deliveryRetentionDays;
  const pruned = days > 0 ? await pruneDeliveries(ctx.db, new Date(now - days * DAY)) : 0;
  return { events, outbox: rows.length, deliveries: pruned };
}

/** Runs `housekeep` now and then every `everyMs` (an hour) until stopped. */
export function startHousekeeping(ctx: AppContext, everyMs = 60 * 60 * 1000): { stop(): void } {
  const log = ctx.log.child({ name: 'housekeeping' });
  const run = () =>
    housekeep(ctx).then(
      (r) => (r.events || r.outbox || r.deliveries) && log.info(r, 'housekeeping'),
      (err: unknown) => log.warn({ err }, 'housekeeping failed'),
    );
  void run();
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
