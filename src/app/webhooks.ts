import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { forbidden, invalid, notFound } from '../core/errors.js';
import { parseFilter } from '../core/filters.js';
import { newId } from '../core/ids.js';
import { deliveries, follows, webhooks } from '../db/schema.js';
import { recordConsent, type Via } from './audit.js';
import type { AppContext } from './context.js';
import { labelOf } from './follows.js';
import { generateWebhookSecret } from '../net/webhook-signing.js';
import { mayActAs } from './people.js';

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;

/** Resolves the URL's host and throws a DomainError when it may not be called (private address, ...). */
export type DestinationCheck = (url: URL) => Promise<void>;

const MAX_URL = 2048;

/** Syntax only: an absolute http(s) URL without a fragment. Where it points is `DestinationCheck`'s job. */
export function parseWebhookUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(`"${raw.slice(0, 200)}" is not a URL.`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid(`A webhook URL must start with https:// or http://, not ${u.protocol}//.`);
  if (raw.length > MAX_URL) throw invalid(`A webhook URL is at most ${MAX_URL} characters.`);
  if (u.hash) throw invalid('A webhook URL cannot have a #fragment.');
  return u;
}

const normaliseFilters = (xs: string[] | undefined) => (xs ?? []).map(parseFilter);

function checkDescription(d: string | undefined): string {
  const s = (d ?? '').trim();
  if (s.length > 500) throw invalid('description must be at most 500 characters.');
  return s;
}

export interface NewWebhook {
  ownerId: string;
  url: string;
  description?: string;
  filter?: string[];
}

/** Saves an endpoint; nothing is sent to it (SPEC section 3: only `POST .../test` sends). */
export async function createWebhook(ctx: Pick<AppContext, 'db' | 'clock'>, input: NewWebhook, check: DestinationCheck): Promise<WebhookRow> {
  const url = parseWebhookUrl(input.url);
  const description = checkDescription(input.description);
  const filter = normaliseFilters(input.filter);
  await check(url);
  const now = ctx.clock.now();
  const [row] = await ctx.db
    .insert(webhooks)
    .values({ id: newId(now.getTime()), ownerId: input.ownerId, url: url.toString(), description, filter, secret: generateWebhookSecret(), createdAt: now })
    .returning();
  return row!;
}

export async function getWebhook(ctx: Pick<AppContext, 'db'>, id: string): Promise<WebhookRow | null> {
  const rows = await ctx.db.select().from(webhooks).where(eq(webhooks.id, id)).limit(1);
  return rows[0] ?? null;
}

/**
 * The endpoint, if the actor may manage it: its owner (a person, or a service and that service's
 * owners) or an admin. Unknown -> 404, someone else's -> 403.
 */
export async function requireOwnWebhook(ctx: Pick<AppContext, 'db'>, actor: { id: string | null; isAdmin: boolean }, id: string): Promise<WebhookRow> {
  const w = await getWebhook(ctx, id);
  if (!w) throw notFound(`No webhook endpoint ${id}.`);
  if (!(await mayActAs(ctx.db, actor, w.ownerId))) throw forbidden('Only the owner of this webhook endpoint (or an admin) may use it.');
  return w;
}

/** Endpoints owned by these sources, oldest first. */
export async function webhooksOf(ctx: Pick<AppContext, 'db'>, ownerId: string): Promise<WebhookRow[]> {
  return ctx.db.select().from(webhooks).where(eq(webhooks.ownerId, ownerId)).orderBy(webhooks.id);
}

export interface WebhookPatch {
  url?: string;
  description?: string;
  filter?: string[];
  enabled?: boolean;
}

export async function updateWebhook(ctx: Pick<AppContext, 'db'>, w: WebhookRow, patch: WebhookPatch, check: DestinationCheck): Promise<WebhookRow> {
  const set: Partial<typeof webhooks.$inferInsert> = {};
  if (patch.url !== undefined) {
    const url = parseWebhookUrl(patch.url);
    await check(url);
    set.url = url.toString();
  }
  if (patch.description !== undefined) set.description = checkDescription(patch.description);
  if (patch.filter !== undefined) set.filter = normaliseFilters(patch.filter);
  if (patch.enabled !== undefined) {
    set.enabled = patch.enabled;
    // Re-enabling starts afresh: the failure run that disabled it is over.
    if (patch.enabled) Object.assign(set, { disabledReason: null, failingSince: null });
  }
  if (!Object.keys(set).length) return w;
  const [row] = await ctx.db.update(webhooks).set(set).where(eq(webhooks.id, w.id)).returning();
  return row!;
}

/** Deletes an endpoint and its follows (each recorded as an unfollow). Its delivery log stays. */
export async function deleteWebhook(ctx: Pick<AppContext, 'db' | 'clock'>, w: WebhookRow, actorId: string | null, via: Via): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const gone = await tx
      .delete(follows)
      .where(and(eq(follows.subscriberKind, 'webhook'), eq(follows.subscriberId, w.id)))
      .returning();
    for (const f of gone) {
      await recordConsent(tx, {
        actorId,
        action: f.targetKind === 'word' ? 'untrack' : 'unfollow',
        subjectId: w.id,
        object: await labelOf(tx, f),
        via,
        detail: { subscriberKind: 'webhook', followId: f.id, reason: 'webhook deleted' },
        at: now,
      });
    }
    await tx.delete(webhooks).where(eq(webhooks.id, w.id));
  });
}

/** A webhook endpoint's delivery log, newest first, keyset-paginated by id. */
export async function deliveriesOf(ctx: Pick<AppContext, 'db'>, webhookId: string, page: { limit: number; before?: string | undefined }) {
  const where: SQL[] = [eq(deliveries.subscriberKind, 'webhook'), eq(deliveries.subscriberId, webhookId)];
  if (page.before) where.push(lt(deliveries.id, page.before));
  const rows = await ctx.db.select().from(deliveries).where(and(...where)).orderBy(desc(deliveries.id)).limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/** Every delivery to one person (on any route), newest first, cursor paginated: what `GET /api/v1/deliveries` lists. */
export async function deliveriesToPerson(
  ctx: Pick<AppContext, 'db'>,
  personId: string,
  page: { limit: number; before?: string | undefined; state?: DeliveryRow['state'] | undefined },
) {
  const where: SQL[] = [eq(deliveries.subscriberKind, 'person'), eq(deliveries.subscriberId, personId)];
  if (page.state) where.push(eq(deliveries.state, page.state));
  if (page.before) where.push(lt(deliveries.id, page.before));
  const rows = await ctx.db.select().from(deliveries).where(and(...where)).orderBy(desc(deliveries.id)).limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}

export async function getDelivery(ctx: Pick<AppContext, 'db'>, id: string): Promise<DeliveryRow | null> {
  const rows = await ctx.db.select().from(deliveries).where(eq(deliveries.id, id)).limit(1);
  return rows[0] ?? null;
}

/**
 * A delivery the actor may re-send: one to a webhook endpoint they manage, or one to themselves.
 * Unknown -> 404, someone else's -> 403.
 */
export async function requireOwnDelivery(ctx: Pick<AppContext, 'db'>, actor: { id: string | null; isAdmin: boolean }, id: string): Promise<DeliveryRow> {
  const d = await getDelivery(ctx, id);
  if (!d) throw notFound(`No delivery ${id}.`);
  if (actor.isAdmin) return d;
  if (d.subscriberKind === 'webhook') {
    await requireOwnWebhook(ctx, actor, d.subscriberId);
    return d;
  }
  if (d.subscriberKind === 'person' && d.subscriberId === actor.id) return d;
  throw forbidden('Only the receiver of this delivery (or an admin) may re-send it.');
}
