import { App, ExpressReceiver, SocketModeReceiver, webApi, type Receiver } from '@slack/bolt';
import type { Express } from 'express';
import type { AppContext } from '../../app/context.js';
import { BODY_LIMIT_BYTES } from '../../web/body-limit.js';
import type { Integration } from '../types.js';
import { slackMode } from './mode.js';
import { registerActions } from './actions.js';
import { registerAppHome } from './app-home.js';
import { registerChannelLeft } from './channel-left.js';
import { boltLogger } from './bolt-logger.js';
import type { SlackDeps } from './deps.js';
import { SlackDirectory } from './directory.js';
import { DbInstallationStore } from './installation-store.js';
import { installCallbacks } from './install-pages.js';
import { registerMessages } from './messages.js';
import { createSlackMessenger } from './messenger.js';
import { EVENTS_PATH, INSTALL_PATH, OAUTH_REDIRECT_PATH, SLACK_BOT_SCOPES } from './scopes.js';
import { registerSlashCommand } from './slash-command.js';
import { installationTokens, singleWorkspaceTokens } from './tokens.js';
import { registerUninstall } from './uninstall.js';

export { SLACK_BOT_EVENTS, SLACK_BOT_SCOPES, SLASH_COMMAND } from './scopes.js';
export { DbInstallationStore } from './installation-store.js';

export { slackMode, type SlackMode } from './mode.js';

/** Bolt's ErrorCode.AuthorizationError: no installation (token) for the workspace an event came from. */
const AUTHORIZATION_ERROR = 'slack_bolt_authorization_error';

export interface SlackIntegrationOptions {
  /**
   * The bot's ids (from auth.test). In single-workspace mode Bolt calls auth.test once at start-up
   * unless both are given.
   */
  botId?: string;
  botUserId?: string;
  /** How long `/tp` may take to answer inside the ack before it replies through response_url (default 0). */
  ackBudgetMs?: number;
}

/**
 * Twitterprise as a Slack app: `/tp`, commands in the app's DM, `channel publish` channels, the
 * Approve/Deny buttons and the App Home on the inbound side (`mount`, or `start` in Socket Mode),
 * and the messenger the delivery workers use.
 *
 * Modes, from the configuration: one workspace with SLACK_BOT_TOKEN; any number of workspaces with
 * SLACK_CLIENT_ID (OAuth install at /slack/install, installations in `slack_installations`); Socket Mode
 * with SLACK_APP_TOKEN (+ SLACK_BOT_TOKEN), which needs no public URL.
 */
export function createSlackIntegration(ctx: AppContext, opts: SlackIntegrationOptions = {}): Integration {
  const config = ctx.config.slack;
  const mode = slackMode(ctx.config);
  if (!mode) throw new Error('Slack is not configured: set SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN or SLACK_CLIENT_ID');
  const log = ctx.log.child({ name: 'slack' });
  const logger = boltLogger(log);
  const store = mode === 'oauth' ? new DbInstallationStore(ctx.db) : undefined;
  const tokens = store ? installationTokens(store) : singleWorkspaceTokens(config.botToken!);
  // 429s surface as WebAPIRateLimitedError instead of pausing the client's whole queue: each caller
  // decides (a delivery job waits for Retry-After; an interactive reply gives up).
  const clientOptions = () => ({ slackApiUrl: config.apiUrl, rejectRateLimitedCalls: true, logger, timeout: 10_000 });
  // The delivery pipeline owns retries; the client makes exactly one attempt per call.
  const client = new webApi.WebClient(undefined, { ...clientOptions(), retryConfig: { retries: 0 } });
  const directory = new SlackDirectory(ctx, tokens, client);
  const deps: SlackDeps = { ctx, log, directory, store };
  let bolt: App | undefined;

  const build = (receiver: Receiver) => {
    const app = new App({
      receiver,
      logger,
      clientOptions: { ...clientOptions(), retryConfig: { retries: 1, minTimeout: 200, maxTimeout: 500 } },
      ...(mode === 'oauth' ? {} : { token: config.botToken, botId: opts.botId, botUserId: opts.botUserId }),
    });
    registerSlashCommand(app, deps, opts.ackBudgetMs);
    registerMessages(app, deps);
    registerActions(app, deps);
    registerAppHome(app, deps);
    registerUninstall(app, deps);
    registerChannelLeft(app, deps);
    app.error(async (err) => {
      if (err.code === AUTHORIZATION_ERROR) {
        // A workspace that uninstalled the app (or never installed it) still sends events for a while:
        // ignored, and said in one line without a stack (Bolt's own warning is turned down in bolt-logger.ts).
        log.warn({ reason: err.message }, 'slack request from a workspace where Twitterprise is not installed: ignored');
        return;
      }
      log.error({ err, code: err.code }, 'slack listener failed');
    });
    return app;
  };

  return {
    name: 'slack',
    messenger: createSlackMessenger(ctx, tokens, client),

    mount(expressApp: Express) {
      if (mode === 'socket') {
        log.info('slack: Socket Mode, no HTTP endpoint mounted');
        return;
      }
      if (bolt) throw new Error('The Slack integration is already mounted');
      // Bolt adds its own raw-body parser on these routes only: it needs the exact bytes to check
      // X-Slack-Signature, so no body parser may run in front of it.
      const receiver = new ExpressReceiver({
        signingSecret: config.signingSecret!,
        app: expressApp,
        logger,
        endpoints: EVENTS_PATH,
        processBeforeResponse: false,
        signatureVerification: true,
        // SPEC: bodies over 64 KiB are refused on every endpoint (Bolt answers 413).
        bodyLimit: BODY_LIMIT_BYTES,
        ...(mode === 'oauth'
          ? {
              clientId: config.clientId!,
              clientSecret: config.clientSecret!,
              stateSecret: config.stateSecret!,
              scopes: [...SLACK_BOT_SCOPES],
              installationStore: store,
              redirectUri: `${ctx.config.publicUrl}${OAUTH_REDIRECT_PATH}`,
              installerOptions: {
                installPath: INSTALL_PATH,
                redirectUriPath: OAUTH_REDIRECT_PATH,
                directInstall: true,
                clientOptions: clientOptions(),
                // Our own end pages: a sentence and a link back, never Bolt's 500 for a cancelled install.
                callbackOptions: installCallbacks(ctx.config.publicUrl, log),
              },
            }
          : {}),
      });
      bolt = build(receiver);
      log.info({ mode, path: EVENTS_PATH }, 'slack mounted');
    },

    async start() {
      if (mode !== 'socket' || bolt) return;
      // The app-level token opens a WebSocket (apps.connections.open at SLACK_API_URL); no public URL needed.
      const receiver = new SocketModeReceiver({ appToken: config.appToken!, logger, installerOptions: { clientOptions: clientOptions() } });
      bolt = build(receiver);
      await bolt.start();
      log.info('slack connected over Socket Mode');
    },

    async stop() {
      if (mode === 'socket' && bolt) await bolt.stop();
    },
  };
}
