import type { Route } from '../../core/types.js';
import type { Channel } from '../channel.js';

/**
 * A route whose integration is not configured on this server (SMS without SMS_PROVIDER): its deliveries
 * are recorded as skipped with the reason, so the delivery log says why nothing arrived. main.ts
 * replaces it with the real channel when the integration is configured.
 */
export function notConfiguredChannel(route: Route, reason: string): Channel {
  return {
    route,
    maxAttempts: 1,
    backoffMs: () => 0,
    deliver: () => Promise.resolve({ kind: 'skip', reason }),
  };
}
