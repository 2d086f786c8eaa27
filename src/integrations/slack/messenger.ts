import type { webApi } from '@slack/bolt';
import { and, eq, sql } from 'drizzle-orm';
import type { AppContext } from '../../app/context.js';
import type { OutboundMessage } from '../../core/messages.js';
import { identities } from '../../db/schema.js';
import type { ChannelAddress, IdentityAddress, MessageRef, Messenger, SendOutcome } from '../../pipeline/messenger.js';
import { outboundMessage } from './blocks.js';
import { outcomeOfError, slackErrorCode } from './errors.js';
import type { BotTokens } from './tokens.js';

export interface SlackMessageRef extends MessageRef {
  platform: 'slack';
  team: string;
  channel: string;
  ts: string;
}

const NOT_INSTALLED: SendOutcome = { kind: 'skip', reason: 'Twitterprise is not installed in that Slack workspace' };

/**
 * Slack's outbound side: DMs (conversations.open, then chat.postMessage), channel posts, and deleting
 * what it posted. Every call's failure becomes a delivery outcome; nothing here retries by itself.
 */
export function createSlackMessenger(ctx: AppContext, tokens: BotTokens, client: webApi.WebClient): Messenger {
  const log = ctx.log.child({ name: 'slack-messenger' });

  async function post(token: string, team: string, channel: string, m: OutboundMessage): Promise<SendOutcome> {
    const res = await client.chat.postMessage({
      token,
      channel,
      // Both escaped (blocks.ts): nothing a person wrote can ping a channel or hide a link.
      ...outboundMessage(m),
      link_names: false,
      unfurl_links: false,
      unfurl_media: false,
    });
    const ref: SlackMessageRef = { platform: 'slack', team, channel: res.channel ?? channel, ts: res.ts ?? '' };
    return { kind: 'sent', ref };
  }

  async function rememberDm(to: IdentityAddress, dmChannel: string | null): Promise<void> {
    const patch = dmChannel ? sql`${identities.data} || ${JSON.stringify({ dmChannel })}::jsonb` : sql`${identities.data} - 'dmChannel'`;
    await ctx.db
      .update(identities)
      .set({ data: patch, updatedAt: new Date() })
      .where(and(eq(identities.platform, 'slack'), eq(identities.tenant, to.tenant), eq(identities.externalId, to.externalId)));
  }

  async function openDm(token: string, to: IdentityAddress): Promise<string> {
    const res = await client.conversations.open({ token, users: to.externalId });
    const id = res.channel?.id;
    if (!id) throw new Error('conversations.open returned no channel');
    await rememberDm(to, id);
    return id;
  }

  return {
    platform: 'slack',

    async sendToPerson(to, m) {
      const token = await tokens.forTeam(to.tenant, typeof to.data.enterpriseId === 'string' ? to.data.enterpriseId : undefined);
      if (!token) return NOT_INSTALLED;
      const cached = typeof to.data.dmChannel === 'string' ? to.data.dmChannel : null;
      try {
        if (cached) {
          try {
            return await post(token, to.tenant, cached, m);
          } catch (err) {
            // A remembered DM channel can go stale (e.g. workspace migration): forget it and open a fresh one.
            if (slackErrorCode(err) !== 'channel_not_found') throw err;
            await rememberDm(to, null);
          }
        }
        return await post(token, to.tenant, await openDm(token, to), m);
      } catch (err) {
        const outcome = outcomeOfError(err);
        log.warn({ team: to.tenant, user: to.externalId, outcome }, 'slack DM not sent');
        return outcome;
      }
    },

    async sendToChannel(to: ChannelAddress, m) {
      const token = await tokens.forTeam(to.tenant);
      if (!token) return NOT_INSTALLED;
      try {
        return await post(token, to.tenant, to.externalId, m);
      } catch (err) {
        const outcome = outcomeOfError(err);
        log.warn({ team: to.tenant, channel: to.externalId, outcome }, 'slack channel post not sent');
        return outcome;
      }
    },

    async retract(ref) {
      const { team, channel, ts } = ref as Partial<SlackMessageRef>;
      if (typeof team !== 'string' || typeof channel !== 'string' || typeof ts !== 'string') {
        return { kind: 'fail', reason: 'not a Slack message reference' };
      }
      const token = await tokens.forTeam(team);
      if (!token) return NOT_INSTALLED;
      try {
        await client.chat.delete({ token, channel, ts });
        return { kind: 'sent', ref };
      } catch (err) {
        // Already deleted (by a person, or by an earlier attempt of this job): the goal is reached.
        if (slackErrorCode(err) === 'message_not_found') return { kind: 'sent', ref };
        const outcome = outcomeOfError(err);
        log.warn({ team, channel, ts, outcome }, 'slack message not deleted');
        return outcome;
      }
    },
  };
}
