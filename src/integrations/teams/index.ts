import express, { type Express } from 'express';
import type { CloudAdapter } from 'botbuilder';
import type { AppContext } from '../../app/context.js';
import type { Messenger } from '../../pipeline/messenger.js';
import type { Integration } from '../types.js';
import { createTeamsAdapter } from './adapter.js';
import { createTeamsBot, SORRY } from './bot.js';
import { replyActivity } from './cards.js';
import { TeamsDirectory } from './directory.js';
import { localOnlyRefusal } from './local-only.js';
import { createTeamsMessenger } from './messenger.js';
import { TeamsSender } from './proactive.js';

export const MESSAGES_PATH = '/api/messages';

const unauthorized = (publicUrl: string, detail: string) => ({
  type: `${publicUrl}/problems/unauthenticated`,
  title: 'Authentication required',
  status: 401,
  detail,
});

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
export function createTeamsIntegration(ctx: AppContext): TeamsIntegration {
  const log = ctx.log.child({ name: 'teams' });
  const { adapter, appId, authDisabled } = createTeamsAdapter(ctx.config.teams);
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
      app.post(MESSAGES_PATH, express.json({ limit: '64kb' }), async (req, res) => {
        // botbuilder refuses these too, but only after printing a stack trace with console.error. Refusing
        // here keeps the log clean for scanners, and certainly before any call to Microsoft's token service.
        if (!authDisabled && !req.headers.authorization) {
          res.status(401).type('application/problem+json').send(JSON.stringify(unauthorized(ctx.config.publicUrl, 'Bot Framework requests carry a JWT in the Authorization header.')));
          return;
        }
        if (authDisabled) {
          const body = req.body as { serviceUrl?: unknown } | undefined;
          const refusal = localOnlyRefusal({ remoteAddress: req.socket.remoteAddress, headers: req.headers, serviceUrl: body?.serviceUrl });
          if (refusal) {
            log.warn({ remoteAddress: req.socket.remoteAddress }, 'unauthenticated Teams activity refused: not local');
            res.status(401).type('application/problem+json').send(JSON.stringify(unauthorized(ctx.config.publicUrl, refusal)));
            return;
          }
        }
        await adapter.process(req, res, bot);
      });
    },
  };
}
