import { outbox } from '../db/schema.js';
import type { DbOrTx } from '../db/client.js';
import type { OutboundMessage } from '../core/messages.js';

/** Events written to the outbox in the same transaction as the change they announce. */
export type OutboxEvent =
  | { event: 'status.created'; payload: { statusId: string } }
  /** `deliveryIds`: only these of its deliveries (sent while the deletion was under way; src/pipeline/late-deletions.ts). */
  | { event: 'status.deleted'; payload: { statusId: string; deliveryIds?: string[] } }
  /** A follow of a protected source awaits approval: owners get a DM with buttons, owners' webhooks an event. */
  | { event: 'follow.requested'; payload: { followId: string } }
  /** A message to one person's DM (approval results, `d @handle`, catchup). `key` dedupes repeats. */
  | { event: 'notice'; payload: { personId: string; message: OutboundMessage; key?: string } }
  /** Something for one XMPP address (a link code, the answer to its subscription request). `key` dedupes repeats. */
  | { event: 'xmpp.notice'; payload: { jid: string; notice: XmppNotice; key: string } };

/** What the XMPP channel sends to an address besides statuses (SPEC section 8). */
export type XmppNotice =
  /** `link xmpp <jid>`: the code to send back with `confirm <code>`. */
  | { kind: 'link_code'; code: string; personHandle: string }
  /** A protected source decided the address's subscription request: presence `subscribed` / `unsubscribed`. */
  | { kind: 'presence'; type: 'subscribed' | 'unsubscribed'; handle: string };

export async function writeOutbox(tx: DbOrTx, e: OutboxEvent): Promise<void> {
  await tx.insert(outbox).values({ event: e.event, payload: e.payload as Record<string, unknown> });
}
