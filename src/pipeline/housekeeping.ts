import { and, isNotNull, lt } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { pruneProcessedEvents } from '../app/processed-events.js';
import { outbox } from '../db/schema.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * Forgets what is no longer needed: inbound event claims older than a day (platforms retry for minutes)
 * and outbox rows relayed more than a week ago. Idempotent, so every worker may run it.
 */
export async function housekeep(ctx: Pick<AppContext, 'db' | 'clock'>): Promise<{ events: number; outbox: number }> {
  const now = ctx.clock.now().getTime();
  const events = await pruneProcessedEvents(ctx.db, new Date(now - DAY));
  const rows = await ctx.db
    .delete(outbox)
    .where(and(isNotNull(outbox.relayedAt), lt(outbox.relayedAt, new Date(now - 7 * DAY))))
    .returning({ id: outbox.id });
  return { events, outbox: rows.length };
}

/** Runs `housekeep` now and then every `everyMs` (an hour) until stopped. */
export function startHousekeeping(ctx: AppContext, everyMs = 60 * 60 * 1000): { stop(): void } {
  const log = ctx.log.child({ name: 'housekeeping' });
  const run = () =>
    housekeep(ctx).then(
      (r) => (r.events || r.outbox) && log.info(r, 'housekeeping'),
      (err: unknown) => log.warn({ err }, 'housekeeping failed'),
    );
  void run();
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
