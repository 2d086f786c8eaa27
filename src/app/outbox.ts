import { outbox } from '../db/schema.js';
import type { DbOrTx } from '../db/client.js';
import type { OutboundMessage } from '../core/messages.js';

/** Events written to the outbox in the same transaction as the change they announce. */
export type OutboxEvent =
  | { event: 'status.created'; payload: { statusId: string } }
  | { event: 'status.deleted'; payload: { statusId: string } }
  /** A follow of a protected source awaits approval: owners get a DM with buttons, owners' webhooks an event. */
  | { event: 'follow.requested'; payload: { followId: string } }
  /** A message to one person's DM (approval results, `d @handle`, catchup). `key` dedupes repeats. */
  | { event: 'notice'; payload: { personId: string; message: OutboundMessage; key?: string } };

export async function writeOutbox(tx: DbOrTx, e: OutboxEvent): Promise<void> {
  await tx.insert(outbox).values({ event: e.event, payload: e.payload as Record<string, unknown> });
}
