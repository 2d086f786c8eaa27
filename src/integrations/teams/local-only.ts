import { isIP } from 'node:net';

/**
 * With MICROSOFT_APP_ID empty nothing proves who sent an activity: anyone who can reach /api/messages could
 * claim to be any Teams user, and make the bot call any `serviceUrl`. "Local only" is therefore enforced:
 * the request must come from this machine, not through a proxy, and name a loopback serviceUrl.
 */

/** 127.0.0.0/8, ::1, their IPv4-mapped form, and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.split('.')[0] === '127';
  if (isIP(h) !== 6) return false;
  // The URL parser writes IPv6 in its one canonical form: ::1, and ::ffff:7fxx:xxxx for a mapped 127.x.x.x.
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

export function isLoopbackUrl(raw: unknown): boolean {
  if (typeof raw !== 'string') return false;
  try {
    const u = new URL(raw);
    return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
}

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host'];

/** Why an unauthenticated activity is refused, or null when it is local. */
export function localOnlyRefusal(req: { remoteAddress: string | undefined; headers: Record<string, string | string[] | undefined>; serviceUrl: unknown }): string | null {
  if (!req.remoteAddress || !isLoopbackHost(req.remoteAddress)) return 'Teams authentication is off (MICROSOFT_APP_ID is empty): only requests from this machine are accepted.';
  if (FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined)) return 'Teams authentication is off (MICROSOFT_APP_ID is empty): proxied requests are refused.';
  if (!isLoopbackUrl(req.serviceUrl)) return 'Teams authentication is off (MICROSOFT_APP_ID is empty): the activity\'s serviceUrl must be a loopback address.';
  return null;
}
