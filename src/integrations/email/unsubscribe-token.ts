import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a link may switch off. Part of the signed text, so a token for one purpose opens nothing else. */
export type UnsubscribePurpose = 'digest';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function mac(secret: string, personId: string, purpose: UnsubscribePurpose): Buffer {
  return createHmac('sha256', secret).update(`tp-unsubscribe:v1:${purpose}:${personId}`).digest();
}

/** `<person id>.<purpose>.<base64url HMAC-SHA256>`: needs no database row and never expires. */
export function signUnsubscribeToken(secret: string, personId: string, purpose: UnsubscribePurpose = 'digest'): string {
  if (!ID_RE.test(personId)) throw new Error('person id not usable in a link');
  return `${personId}.${purpose}.${mac(secret, personId, purpose).toString('base64url')}`;
}

/** The person and purpose, or null when the token was not made with `secret`. */
export function verifyUnsubscribeToken(secret: string, token: string): { personId: string; purpose: UnsubscribePurpose } | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [personId, purpose, sig] = parts as [string, string, string];
  if (!ID_RE.test(personId) || purpose !== 'digest' || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return null;
  // Compare the text, not decoded bytes: base64url's last character carries spare bits, so several
  // spellings decode to the same MAC and a tampered link could otherwise still pass.
  const given = Buffer.from(sig, 'ascii');
  const expected = Buffer.from(mac(secret, personId, purpose).toString('base64url'), 'ascii');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { personId, purpose };
}
