import type { Channel } from '../channel.js';

/**
 * Route `email`: nothing is sent per delivery. Email deliveries stay `queued` until the person's digest
 * (integrations/email) collects them; a deliver job for one (a re-send) only puts it back in line.
 */
export const emailDigestChannel: Channel = {
  route: 'email',
  maxAttempts: 1,
  backoffMs: () => 0,
  deliver: () => Promise.resolve({ kind: 'digest' }),
};
