/**
 * XMPP addresses (RFC 7622), as far as Twitterprise needs them: a bare JID `local@domain` identifies an
 * app or a person's client; the resource (`/laptop`) is dropped. Pure; no XMPP library.
 * The localpart and domain are compared case-insensitively (the PRECIS profiles fold case), so they are
 * stored lowercased; each part is at most 1023 bytes.
 */

// eslint-disable-next-line no-control-regex -- control characters are what a localpart may not hold
const LOCAL_RE = /^[^\s"&'/:<>@\u0000-\u001f\u007f]{1,1023}$/u;
const DOMAIN_RE = /^(?=.{1,253}$)[\p{L}\p{N}]([\p{L}\p{N}-]{0,62}[\p{L}\p{N}])?(\.[\p{L}\p{N}]([\p{L}\p{N}-]{0,62}[\p{L}\p{N}])?)*$/u;

/** `Alice@Corp.example/laptop` -> `alice@corp.example`; null when it is not `local@domain[/resource]`. */
export function bareJid(raw: string): string | null {
  if (raw.length > 3071) return null;
  const slash = raw.indexOf('/');
  const addr = slash === -1 ? raw : raw.slice(0, slash);
  const at = addr.indexOf('@');
  if (at <= 0) return null;
  const local = addr.slice(0, at).normalize('NFC').toLowerCase();
  const domain = addr.slice(at + 1).toLowerCase().replace(/\.$/, '');
  if (!LOCAL_RE.test(local) || !DOMAIN_RE.test(domain)) return null;
  return `${local}@${domain}`;
}

/** The domain of a JID (`build@tp.example.com/x` -> `tp.example.com`), lowercased; null when malformed. */
export function jidDomain(raw: string): string | null {
  const noRes = raw.split('/', 1)[0] ?? '';
  const domain = noRes.slice(noRes.indexOf('@') + 1).toLowerCase();
  return DOMAIN_RE.test(domain) ? domain : null;
}

/** The localpart of a JID, lowercased ('' for a bare domain). */
export function jidLocal(raw: string): string {
  const noRes = raw.split('/', 1)[0] ?? '';
  const at = noRes.indexOf('@');
  return at === -1 ? '' : noRes.slice(0, at).toLowerCase();
}
