import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/security): X-Twilio-Signature =
 * base64(HMAC-SHA1(auth token, URL + every POST field name followed by its value, fields sorted by
 * name)). The URL is the one configured on the number, exactly: we rebuild it from PUBLIC_URL (what
 * Twilio was told), never from the Host header of a proxy hop. A field sent twice contributes each
 * value, in the order received.
 */
export function twilioSignature(authToken: string, url: string, fields: Iterable<readonly [string, string]>): string {
  const list = [...fields];
  // Sort by name only (stable): repeated names keep their order, as Twilio's libraries do.
  const sorted = list.map((f, i) => ({ f, i })).sort((a, b) => (a.f[0] < b.f[0] ? -1 : a.f[0] > b.f[0] ? 1 : a.i - b.i));
  let data = url;
  for (const { f } of sorted) data += f[0] + f[1];
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Constant-time comparison of the header against the signature we compute. */
export function validTwilioSignature(authToken: string, url: string, fields: Iterable<readonly [string, string]>, header: string | undefined): boolean {
  if (!header || header.length > 200) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, fields));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
