import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a link may switch off. Part of the signed text, so a token for one purpose opens nothing else. */
export type UnsubscribePurpose = 'digest';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SIG_RE = /^[A-Za-z0-9_-]{43}$/;

const macV2 = (key: string, personId: string, purpose: UnsubscribePurpose) => createHmac('sha256', key).update(`tp-unsubscribe:v2:${purpose}:${personId}`).digest('base64url');
const macV1 = (key: string, personId: string, purpose: UnsubscribePurpose) => createHmac('sha256', key).update(`tp-unsubscribe:v1:${purpose}:${personId}`).digest('base64url');

/**
 * `v2.<person id>.<purpose>.<base64url HMAC-SHA256>` under the current key (unsubscribe-keys.ts): needs no
 * database row and never expires while the key stays.
 */
export function signUnsubscribeToken(key: string, personId: string, purpose: UnsubscribePurpose = 'digest'): string {
  if (!ID_RE.test(personId)) throw new Error('person id not usable in a link');
  return `v2.${personId}.${purpose}.${macV2(key, personId, purpose)}`;
}

/** A link of the first format (`<person id>.digest.<mac>`), signed with `key`: for tests and for the key-change rules. */
export function signLegacyUnsubscribeToken(key: string, personId: string, purpose: UnsubscribePurpose = 'digest'): string {
  return `${personId}.${purpose}.${macV1(key, personId, purpose)}`;
}

/** Compare the text, not decoded bytes: base64url's last character carries spare bits, so a tampered spelling could otherwise pass. */
function same(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'ascii');
  const b = Buffer.from(expected, 'ascii');
  return a.length === b.length && timingSafeEqual(a, b);
}

export type TokenCheck =
  | { ok: true; personId: string; purpose: UnsubscribePurpose }
  /** A real link of the first format whose key no longer opens anything (forgeable, or its 30 days are over). */
  | { ok: false; retired: true }
  | { ok: false; retired: false };

export interface UnsubscribeKeyring {
  /** Signs new links and opens v2 links. */
  current: string;
  /** Keys that still open first-format links. */
  legacyAccepted: string[];
  /** Keys whose first-format links are recognised only to say they stopped working. */
  legacyRetired: string[];
}

/** Which person and purpose a link opens, or why it opens nothing. */
export function checkUnsubscribeToken(keys: UnsubscribeKeyring, token: string): TokenCheck {
  const parts = token.split('.');
  if (parts.length === 4 && parts[0] === 'v2') {
    const [, personId, purpose, sig] = parts as [string, string, string, string];
    if (!ID_RE.test(personId) || purpose !== 'digest' || !SIG_RE.test(sig)) return { ok: false, retired: false };
    return same(sig, macV2(keys.current, personId, purpose)) ? { ok: true, personId, purpose } : { ok: false, retired: false };
  }
  if (parts.length === 3) {
    const [personId, purpose, sig] = parts as [string, string, string];
    if (!ID_RE.test(personId) || purpose !== 'digest' || !SIG_RE.test(sig)) return { ok: false, retired: false };
    if (keys.legacyAccepted.some((k) => same(sig, macV1(k, personId, purpose)))) return { ok: true, personId, purpose };
    if (keys.legacyRetired.some((k) => same(sig, macV1(k, personId, purpose)))) return { ok: false, retired: true };
  }
  return { ok: false, retired: false };
}

/** The person and purpose of a current (v2) link signed with `key`, or null. */
export function verifyUnsubscribeToken(key: string, token: string): { personId: string; purpose: UnsubscribePurpose } | null {
  const r = checkUnsubscribeToken({ current: key, legacyAccepted: [], legacyRetired: [] }, token);
  return r.ok ? { personId: r.personId, purpose: r.purpose } : null;
}
