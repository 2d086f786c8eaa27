import type { App } from '@slack/bolt';
import { endChannels } from '../../app/channel-removed.js';
import type { SlackDeps } from './deps.js';

/**
 * channel_left / group_left: someone removed the bot from a public or private channel. That channel's
 * follows end (src/app/channel-removed.ts); `chat:write.public` must not keep posting where it was sent away.
 */
export function registerChannelLeft(app: App, deps: SlackDeps): void {
  const left = async (body: unknown, channel: string, actor: string | undefined) => {
    const teamId = (body as { team_id?: string }).team_id;
    if (!teamId) return;
    const ended = await endChannels(deps.ctx, { platform: 'slack', tenant: teamId, externalIds: [channel] }, actor ? `the app was removed by ${actor}` : 'the app was removed');
    deps.log.info({ team: teamId, channel, actor, ...ended }, 'slack: removed from a channel; its follows ended');
  };
  app.event('channel_left', async ({ body, event }) => left(body, event.channel, event.actor_id));
  app.event('group_left', async ({ body, event }) => left(body, event.channel, (event as { actor_id?: string }).actor_id));
}
