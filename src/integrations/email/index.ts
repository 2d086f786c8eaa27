import type { AppContext } from '../../app/context.js';
import type { Integration } from '../types.js';
import type { Mailer } from './transport.js';
import { unsubscribeRouter } from './unsubscribe.js';

export { sendDueDigests, type DigestOptions, type DigestRunResult, type SentDigest } from './digest.js';
export { startDigestScheduler, type DigestScheduler, type DigestSchedulerOptions } from './schedule.js';
export { createMailer, type Mailer, type OutgoingMail } from './transport.js';
export { unsubscribeRouter } from './unsubscribe.js';
export { ensureUnsubscribeKeys } from './unsubscribe-keys.js';

/**
 * The email integration for the web role: the one-click unsubscribe routes (with their own
 * urlencoded parser, so no global body parser is needed). It takes ownership of `mailer` and closes
 * it on stop (closing twice is harmless, so a worker sharing it may close it too).
 */
export function createEmailIntegration(ctx: AppContext, mailer: Mailer): Integration {
  return {
    name: 'email',
    mount(app) {
      app.use(unsubscribeRouter(ctx));
    },
    async stop() {
      mailer.close();
    },
  };
}
