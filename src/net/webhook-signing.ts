/**
 * Standard Webhooks (SPEC section 4): the secret an endpoint gets once, and the headers of each send.
 * Below both users: app/ makes the secret when an endpoint is saved, the webhook channel signs each send.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A Standard Webhooks secret: `whsec_` + base64 of a random 32-byte HMAC key. Shown once, at creation. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Standard Webhooks headers for one send: the signature covers `${id}.${timestamp}.${body}`, so a
 * receiver verifies the exact bytes we post. `id` is the delivery id: the same on every retry.
 */
export function signWebhook(secret: string, id: string, at: Date, body: string): SignedHeaders {
  const signature = signerFor(secret).sign(id, at, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

/** One signer per secret (its key decoded once): a fan-out signs thousands of sends with few secrets each. */
const signers = new Map<string, Webhook>();
function signerFor(secret: string): Webhook {
  let w = signers.get(secret);
  if (!w) {
    if (signers.size >= 1000) signers.clear();
    signers.set(secret, (w = new Webhook(secret)));
  }
  return w;
}
