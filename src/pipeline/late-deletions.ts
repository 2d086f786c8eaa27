import type { AppContext } from '../app/context.js';
import { writeOutbox } from '../app/outbox.js';
import { statusesWithSources } from '../app/statuses.js';

export interface LateSend {
  id: string;
  event: string;
  statusId: string | null;
}

/**
 * Sends that were in flight while their status was deleted. The deletion's fan-out marks what is still
 * queued `skipped` and takes back what is `sent`; a send under way at that moment finds its row skipped
 * when it comes to record the success. It records it anyway (the subscriber has the message), and here
 * the deletion gets a fan-out of its own for just those deliveries: the chat messages are taken back,
 * the webhooks get `status.deleted`. The callers only pass rows whose recording found them no longer
 * pending, so this costs nothing on the common path. A deletion that commits after a row was recorded
 * `sent` finds it sent itself.
 */
export async function chaseLateDeletions(ctx: Pick<AppContext, 'db'> & Partial<Pick<AppContext, 'kick'>>, sent: readonly LateSend[]): Promise<number> {
  const byStatus = new Map<string, string[]>();
  for (const d of sent) {
    if (d.event !== 'status.created' || !d.statusId) continue;
    const list = byStatus.get(d.statusId);
    if (list) list.push(d.id);
    else byStatus.set(d.statusId, [d.id]);
  }
  if (!byStatus.size) return 0;
  // A rare path (a send that met a deletion): the pipeline's own lookup of statuses serves.
  const gone = (await statusesWithSources(ctx.db, [...byStatus.keys()])).filter((r) => r.status.deletedAt);
  if (!gone.length) return 0;
  await ctx.db.transaction(async (tx) => {
    for (const { status } of gone) await writeOutbox(tx, { event: 'status.deleted', payload: { statusId: status.id, deliveryIds: byStatus.get(status.id)! } });
  });
  ctx.kick?.();
  return gone.length;
}
