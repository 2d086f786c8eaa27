import { eq } from 'drizzle-orm';
import type { AppContext } from '../../app/context.js';
import { channels } from '../../db/schema.js';
import type { Channel, DeliveryOutcome, DeliveryRecord } from '../channel.js';
import type { Messengers } from '../messenger.js';
import { chatRetry, outcomeOfSend } from './reach-person.js';
import { statusForDelivery } from './status-message.js';

export interface ChatChannelDeps {
  ctx: Pick<AppContext, 'db' | 'config'>;
  messengers: Messengers;
}

const platformName = { slack: 'Slack', teams: 'Teams' } as const;

/** Route `channel`: a Slack or Teams channel that follows a source, tag or word. */
export function createChatChannel(deps: ChatChannelDeps): Channel {
  const { db } = deps.ctx;
  return {
    route: 'channel',
    ...chatRetry,
    async deliver(d: DeliveryRecord): Promise<DeliveryOutcome> {
      const [c] = await db.select().from(channels).where(eq(channels.id, d.subscriberId)).limit(1);
      if (!c) return { kind: 'skip', reason: 'channel no longer known' };
      const messenger = deps.messengers[c.platform];
      if (!messenger) return { kind: 'skip', reason: `${platformName[c.platform]} is not configured on this server` };
      if (d.event !== 'status.created') return { kind: 'skip', reason: `channels do not receive ${d.event}` };
      const loaded = await statusForDelivery(db, deps.ctx.config.publicUrl, d, 'channel');
      if (!loaded.ok) return { kind: 'skip', reason: loaded.reason };
      const outcome = await messenger.sendToChannel({ channelId: c.id, platform: c.platform, tenant: c.tenant, externalId: c.externalId, data: c.data }, loaded.message);
      return outcomeOfSend(outcome);
    },
  };
}
