/**
 * Standard Webhooks (SPEC section 4): the secret an endpoint gets once, and the headers of each send.
 * Below both users: app/ makes the secret when an endpoint is saved, the webhook channel signs each send.
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

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
 * Standard Webhooks headers for one send: `v1,` + base64 HMAC-SHA256 (the secret's base64 key after
 * `whsec_`) of `${id}.${timestamp}.${body}`, so a receiver verifies the exact bytes we post. `id` is the
 * delivery id: the same on every retry. Signed with node:crypto rather than the `standardwebhooks`
 * package's JavaScript SHA-256 (a few percent of a fan-out's CPU, docs/benchmarks.md); the tests verify
 * every form with that package, the reference implementation of the scheme.
 */
export function signWebhook(secret: string, id: string, at: Date, body: string): SignedHeaders {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}

/** One decoded key per secret: a fan-out signs thousands of sends with few secrets each. */
const keys = new Map<string, KeyObject>();
function keyOf(secret: string): KeyObject {
  let k = keys.get(secret);
  if (!k) {
    if (keys.size >= 1000) keys.clear();
    const raw = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
    keys.set(secret, (k = createSecretKey(Buffer.from(raw, 'base64'))));
  }
  return k;
}
