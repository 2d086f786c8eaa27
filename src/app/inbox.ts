import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { deliveries } from '../db/schema.js';
import type { AppContext } from './context.js';
import type { DeliveryRow } from './webhooks.js';

/** What was sent to a person (every route), newest first, keyset-paginated by id: the console's "my deliveries". */
export async function deliveriesToPerson(ctx: Pick<AppContext, 'db'>, personId: string, page: { limit: number; before?: string | undefined }): Promise<{ items: DeliveryRow[]; next: string | null }> {
  const where: SQL[] = [eq(deliveries.subscriberKind, 'person'), eq(deliveries.subscriberId, personId)];
  if (page.before) where.push(lt(deliveries.id, page.before));
  const rows = await ctx.db.select().from(deliveries).where(and(...where)).orderBy(desc(deliveries.id)).limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}
