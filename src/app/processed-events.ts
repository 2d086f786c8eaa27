import { eq, lt } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { processedEvents } from '../db/schema.js';

/**
 * Claims an inbound platform event once across every web process. Slack redelivers an event it
 * thinks was not acknowledged (X-Slack-Retry-Num 1..3) and the Bot Framework service redelivers a slow
 * activity, so the same id can arrive several times. Returns false when it was already claimed.
 * Keys carry their platform: `slack:<event_id>`, `teams:<tenant>:<activity id>`.
 */
export async function claimEvent(db: DbOrTx, key: string): Promise<boolean> {
  const rows = await db.insert(processedEvents).values({ key }).onConflictDoNothing().returning({ key: processedEvents.key });
  return rows.length > 0;
}

/** Gives an event back when handling it failed, so that the platform's next retry may try again. */
export async function releaseEvent(db: DbOrTx, key: string): Promise<void> {
  await db.delete(processedEvents).where(eq(processedEvents.key, key));
}

/** Forgets claims older than `before`: platforms stop retrying within minutes (Slack: 3 retries). */
export async function pruneProcessedEvents(db: DbOrTx, before: Date): Promise<number> {
  const rows = await db.delete(processedEvents).where(lt(processedEvents.at, before)).returning({ key: processedEvents.key });
  return rows.length;
}
