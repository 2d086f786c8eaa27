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
  const signature = new Webhook(secret).sign(id, at, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
