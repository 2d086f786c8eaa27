import { and, eq, inArray, or, sql } from 'drizzle-orm';
import type { ChatPlatform } from '../core/types.js';
import { channels, follows } from '../db/schema.js';
import type { AppContext } from './context.js';
import { recordFollowEnded } from './follows.js';

export interface ChannelsEnded {
  channels: number;
  follows: number;
}

/**
 * The channel took the app out (removed the bot, or the team uninstalled it): the strongest opt-out a
 * channel can give. Its follows end and it stops publishing, each follow recorded in the consent log with
 * the reason; the channel row stays, so adding the app again starts from nothing followed. `externalIds`
 * are the platform's channel ids; `teamId` (Teams) takes every channel of that team.
 */
export async function endChannels(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  where: { platform: ChatPlatform; tenant: string; externalIds?: string[]; teamId?: string },
  reason: string,
): Promise<ChannelsEnded> {
  const ids = where.externalIds ?? [];
  const match = or(
    ids.length ? inArray(channels.externalId, ids) : undefined,
    where.teamId ? or(eq(channels.externalId, where.teamId), sql`${channels.data}->>'teamId' = ${where.teamId}`) : undefined,
  );
  if (!match) return { channels: 0, follows: 0 };
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const rows = await tx
      .update(channels)
      .set({ publishServiceId: null, publishedBy: null })
      .where(and(eq(channels.platform, where.platform), eq(channels.tenant, where.tenant), match))
      .returning({ id: channels.id });
    if (!rows.length) return { channels: 0, follows: 0 };
    const ended = await tx
      .delete(follows)
      .where(and(eq(follows.subscriberKind, 'channel'), inArray(follows.subscriberId, rows.map((r) => r.id))))
      .returning();
    for (const f of ended) await recordFollowEnded(tx, f, { actorId: null, via: where.platform, at: now, reason });
    return { channels: rows.length, follows: ended.length };
  });
}
