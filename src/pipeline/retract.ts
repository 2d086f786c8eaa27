import { eq } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { deliveries } from '../db/schema.js';
import type { MessageRef, Messengers } from './messenger.js';

export interface RetractDeps {
  ctx: Pick<AppContext, 'db' | 'clock' | 'log'>;
  messengers: Messengers;
}

/**
 * Deletes the chat messages one delivery left (its status was deleted). Refs that are gone are
 * removed from the row as they go, so a retried job only repeats what is left.
 */
export async function retractDelivery(deps: RetractDeps, deliveryId: string): Promise<{ retracted: number; left: number }> {
  const { db } = deps.ctx;
  const log = deps.ctx.log.child({ name: 'retract', deliveryId });
  const [d] = await db.select({ refs: deliveries.refs }).from(deliveries).where(eq(deliveries.id, deliveryId)).limit(1);
  if (!d || !d.refs.length) return { retracted: 0, left: 0 };
  const left: Record<string, unknown>[] = [];
  let retracted = 0;
  let retryError: string | null = null;
  for (const raw of d.refs) {
    const ref = raw as MessageRef;
    const messenger = deps.messengers[ref.platform];
    if (!messenger) {
      // The platform is no longer configured here: nothing can delete it; do not retry forever.
      log.warn({ platform: ref.platform }, 'cannot retract: platform not configured');
      continue;
    }
    const o = await messenger.retract(ref);
    if (o.kind === 'retry') {
      left.push(raw);
      retryError = o.error;
    } else {
      if (o.kind !== 'sent') log.info({ platform: ref.platform, outcome: o }, 'retract gave up on a message');
      retracted++;
    }
  }
  await db
    .update(deliveries)
    .set({ refs: left, updatedAt: deps.ctx.clock.now(), ...(left.length ? {} : { reason: 'retracted' }) })
    .where(eq(deliveries.id, deliveryId));
  if (retryError) throw new Error(`retract: ${retryError}`);
  return { retracted, left: left.length };
}
