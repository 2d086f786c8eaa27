export { createWebhookChannel, DISABLE_AFTER_MS, type WebhookBody, type WebhookChannelDeps } from './channel.js';
export { sendWebhook, type WebhookRequest, type WebhookResponse } from './send.js';
export { generateWebhookSecret, signWebhook, type SignedHeaders } from '../../net/webhook-signing.js';
export {
  checkResolved,
  DestinationRefused,
  isPrivateAddress,
  mappedIpv4,
  resolveAndCheck,
  systemLookup,
  type CheckResult,
  type LookupFn,
  type ResolvedAddress,
} from '../../net/address-guard.js';
