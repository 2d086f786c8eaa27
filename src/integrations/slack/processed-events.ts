import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { processedEvents } from '../../db/schema.js';

/**
 * Claims an inbound Slack event once across every web process. Slack redelivers an event it thinks
 * was not acknowledged (X-Slack-Retry-Num: 1..3), so the same event_id can arrive several times.
 * Returns false when another delivery of the event already claimed it.
 */
export async function claimEvent(db: DbOrTx, eventId: string): Promise<boolean> {
  const rows = await db
    .insert(processedEvents)
    .values({ key: `slack:${eventId}` })
    .onConflictDoNothing()
    .returning({ key: processedEvents.key });
  return rows.length > 0;
}

/** Gives the event back when handling it failed, so that Slack's next retry may try again. */
export async function releaseEvent(db: DbOrTx, eventId: string): Promise<void> {
  await db.delete(processedEvents).where(eq(processedEvents.key, `slack:${eventId}`));
}
