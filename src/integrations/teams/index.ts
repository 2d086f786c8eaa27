import type { Express } from 'express';
import type { CloudAdapter } from 'botbuilder';
import type { AppContext } from '../../app/context.js';
import type { Messenger } from '../../pipeline/messenger.js';
import type { Integration } from '../types.js';
import { createTeamsAdapter, type TeamsAuthOverrides } from './adapter.js';
import { createTeamsBot, SORRY } from './bot.js';
import { replyActivity } from './cards.js';
import { TeamsDirectory } from './directory.js';
import { jsonBody, messagesHandler } from './inbound.js';
import { createTeamsMessenger } from './messenger.js';
import { TeamsSender } from './proactive.js';

export const MESSAGES_PATH = '/api/messages';

export interface TeamsIntegration extends Integration {
  readonly messenger: Messenger;
  /** botbuilder's adapter, for tests and for a later move to the M365 Agents SDK. */
  readonly adapter: CloudAdapter;
}

/**
 * Twitterprise as a Teams bot: `POST /api/messages` receives Bot Framework activities (personal chats,
 * @mentions in channels and group chats, channel messages of `channel publish` channels, card buttons,
 * installs), and the messenger sends Adaptive Cards proactively for the delivery workers.
 *
 * Credentials come from MICROSOFT_APP_ID / _PASSWORD / _TYPE / _TENANT_ID. With an empty app id the bot
 * runs without authentication, and then accepts only local activities (local development and tests).
 */
export function createTeamsIntegration(ctx: AppContext, opts: { auth?: TeamsAuthOverrides } = {}): TeamsIntegration {
  const log = ctx.log.child({ name: 'teams' });
  const { adapter, auth, appId, authDisabled } = createTeamsAdapter(ctx.config.teams, opts.auth);
  if (authDisabled) {
    log.warn(
      'MICROSOFT_APP_ID is empty: Teams authentication is disabled both ways (inbound activities are not verified, outbound calls carry no token). ' +
        'Only local activities with a loopback serviceUrl are accepted; use this for development and tests only.',
    );
  }
  // Last resort: the turn logic answers its own errors; anything that still escapes gets a sentence, never a stack trace.
  adapter.onTurnError = async (turn, err) => {
    log.error({ err, type: turn.activity?.type }, 'teams turn failed outside the bot logic');
    try {
      if (turn.activity?.type === 'message') await turn.sendActivity(replyActivity({ text: SORRY }));
    } catch (sendErr) {
      log.warn({ err: sendErr }, 'teams error reply failed too');
    }
  };
  const sender = new TeamsSender(ctx, adapter, appId);
  const bot = createTeamsBot({ ctx, log, directory: new TeamsDirectory(ctx), sender });
  return {
    name: 'teams',
    adapter,
    messenger: createTeamsMessenger(sender, log),
    mount(app: Express) {
      // CloudAdapter reads an already parsed body (Bolt, on the same app, needs the raw one: no global parser).
      // Token first, then the activity's shape, then botbuilder (inbound.ts).
      app.post(MESSAGES_PATH, jsonBody(ctx.config.publicUrl), messagesHandler({ adapter, auth, authDisabled, log, publicUrl: ctx.config.publicUrl, bot }));
    },
  };
}
