import { and, eq, sql } from 'drizzle-orm';
import { forbidden, invalid, rule } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { ChatPlatform } from '../core/types.js';
import { channels, sources } from '../db/schema.js';
import type { AppContext } from './context.js';
import { mayActAs, type SourceRow } from './people.js';

export type ChannelRow = typeof channels.$inferSelect;

export interface ChannelInput {
  platform: ChatPlatform;
  tenant: string;
  externalId: string;
  name?: string | null;
  data?: Record<string, unknown>;
}

/** The channel row for a chat channel, created on first sight; `data` is merged (conversation references). */
export async function upsertChannel(ctx: Pick<AppContext, 'db'>, c: ChannelInput): Promise<ChannelRow> {
  const [row] = await ctx.db
    .insert(channels)
    .values({ id: newId(), platform: c.platform, tenant: c.tenant, externalId: c.externalId, name: c.name ?? null, data: c.data ?? {} })
    .onConflictDoUpdate({
      target: [channels.platform, channels.tenant, channels.externalId],
      set: {
        ...(c.name ? { name: c.name } : {}),
        ...(c.data ? { data: sql`${channels.data} || ${JSON.stringify(c.data)}::jsonb` } : {}),
      },
    })
    .returning();
  return row!;
}

export async function getChannel(ctx: Pick<AppContext, 'db'>, id: string): Promise<ChannelRow | null> {
  const rows = await ctx.db.select().from(channels).where(eq(channels.id, id)).limit(1);
  return rows[0] ?? null;
}

/** The service a channel publishes as (`channel publish @service`), if any. */
export async function publishingServiceFor(ctx: Pick<AppContext, 'db'>, platform: ChatPlatform, tenant: string, externalId: string): Promise<SourceRow | null> {
  const rows = await ctx.db
    .select({ s: sources })
    .from(channels)
    .innerJoin(sources, eq(sources.id, channels.publishServiceId))
    .where(and(eq(channels.platform, platform), eq(channels.tenant, tenant), eq(channels.externalId, externalId)))
    .limit(1);
  return rows[0]?.s ?? null;
}

/** Binds a channel to a service: its new top-level messages become that service's statuses. Owners only. */
export async function setPublish(ctx: Pick<AppContext, 'db'>, channelId: string, actor: { id: string; isAdmin: boolean }, service: SourceRow | null): Promise<void> {
  if (service) {
    if (service.kind !== 'service') throw invalid(`@${service.handle} is a person; a channel publishes as a service.`, 'channel publish @service');
    if (!(await mayActAs(ctx.db, actor, service.id))) {
      throw forbidden(`You are not an owner of @${service.handle}, so this channel cannot publish as it.`);
    }
  } else {
    const ch = await getChannel(ctx, channelId);
    if (!ch?.publishServiceId) throw rule('This channel does not publish as any service.', 'channel publish @service');
    if (ch.publishedBy !== actor.id && !(await mayActAs(ctx.db, actor, ch.publishServiceId))) {
      throw forbidden('Only an owner of the service (or whoever bound the channel) can unpublish it.');
    }
  }
  await ctx.db
    .update(channels)
    .set({ publishServiceId: service?.id ?? null, publishedBy: service ? actor.id : null })
    .where(eq(channels.id, channelId));
}
