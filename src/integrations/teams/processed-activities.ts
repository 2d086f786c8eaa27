import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { processedEvents } from '../../db/schema.js';

/**
 * Claims an inbound activity once across every web process. The Bot Framework service redelivers an
 * activity when the bot's answer is slow or lost, so the same activity id can arrive twice.
 * Returns false when another delivery already claimed it.
 */
export async function claimActivity(db: DbOrTx, key: string): Promise<boolean> {
  const rows = await db.insert(processedEvents).values({ key }).onConflictDoNothing().returning({ key: processedEvents.key });
  return rows.length > 0;
}

/** Gives the activity back when handling it failed, so that a redelivery may try again. */
export async function releaseActivity(db: DbOrTx, key: string): Promise<void> {
  await db.delete(processedEvents).where(eq(processedEvents.key, key));
}
