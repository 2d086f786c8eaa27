import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * The private-address guard every outbound request to a user-given URL goes through (webhook sends,
 * feed and calendar polls): resolve the name, check every address, connect only to the checked one.
 *
 * Where a request may go by default. Everything that is not globally reachable unicast is refused:
 * the IANA special-purpose registries (RFC 6890 and successors) for IPv4 and IPv6.
 */
const v4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
] as const) v4.addSubnet(net, bits, 'ipv4');

const v6 = new BlockList();
for (const [net, bits] of [
  ['::', 96], // unspecified, loopback (::1) and the deprecated IPv4-compatible form
  ['64:ff9b::', 96], // NAT64: reaches any IPv4 address, private ones included
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo 2001::/32, ORCHID)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an arbitrary IPv4 address
  ['3fff::', 20], // documentation
  ['5f00::', 16], // SRv6 SIDs
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) v6.addSubnet(net, bits, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail allowed), or null. */
function ipv6Groups(ip: string): number[] | null {
  let s = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => (/^[0-9a-f]{1,4}$/i.test(h) ? parseInt(h, 16) : NaN)));
  const halves = s.split('::');
  if (halves.length > 2) return null;
  let groups = parse(halves[0]!);
  if (halves.length === 2) {
    const rest = parse(halves[1]!);
    const fill = 8 - groups.length - rest.length;
    if (fill < 1) return null;
    groups = [...groups, ...new Array<number>(fill).fill(0), ...rest];
  }
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : null;
}

/** `::ffff:a.b.c.d` (IPv4-mapped IPv6) -> `a.b.c.d`; anything else -> null. */
export function mappedIpv4(ip: string): string | null {
  const g = ipv6Groups(ip);
  if (!g || g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return null;
  return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
}

/**
 * True when `ip` is not a public unicast address: loopback, private, link-local, unique-local, CGNAT,
 * multicast, documentation, reserved... Anything that does not parse as an IP counts as private.
 */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return v4.check(bare, 'ipv4');
  if (family === 6) {
    const mapped = mappedIpv4(bare);
    if (mapped !== null) return v4.check(mapped, 'ipv4');
    return v6.check(bare, 'ipv6');
  }
  return true;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type CheckResult = { ok: true; address: ResolvedAddress } | { ok: false; reason: string };

/**
 * Which addresses a request may connect to. The default refuses everything that is not public
 * unicast; `ALLOW_PRIVATE_URLS=true` allows any; a test may pass its own (allow 127.0.0.1, refuse
 * 127.0.0.2) to show a refusal without any traffic leaving loopback.
 */
export type AddressPolicy = (address: string) => boolean;

export const publicOnly: AddressPolicy = (ip) => !isPrivateAddress(ip);
export const anyAddress: AddressPolicy = () => true;

/** The policy for the private-address switch. */
export const addressPolicy = (allowPrivate: boolean): AddressPolicy => (allowPrivate ? anyAddress : publicOnly);

/**
 * Decides on the addresses a host name resolved to. Every address must pass: a name that resolves
 * to one public and one private address could be answered either way by the next lookup.
 */
export function checkResolved(hostname: string, addresses: readonly ResolvedAddress[], policy: AddressPolicy = publicOnly): CheckResult {
  if (!addresses.length) return { ok: false, reason: `${hostname} does not resolve to an address` };
  const bad = addresses.find((a) => !policy(a.address));
  if (bad) {
    return {
      ok: false,
      reason: `${hostname} resolves to a private, loopback or link-local address (${bad.address}); URLs must be public unless ALLOW_PRIVATE_URLS=true`,
    };
  }
  return { ok: true, address: addresses[0]! };
}

/** Resolves a host name to all its addresses (injectable, so tests never touch DNS or the network). */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: LookupFn = async (hostname) => {
  const rows = await dnsLookup(hostname, { all: true, verbatim: true });
  return rows.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

export class DestinationRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DestinationRefused';
  }
}

/**
 * The name did not resolve (no such name, DNS away): refused when a URL is saved, but a send only
 * failed for now and is retried, like a receiver that does not answer.
 */
export class NameNotResolved extends DestinationRefused {
  constructor(reason: string) {
    super(reason);
    this.name = 'NameNotResolved';
  }
}

export interface ResolveOptions {
  /** The private-address switch: resolve, but accept any address. Ignored when `policy` is given. */
  allowPrivate?: boolean;
  /** Which addresses may be called (default: from `allowPrivate`, else public only). */
  policy?: AddressPolicy;
  lookup?: LookupFn;
}

/** `[::1]` -> `::1`: the host as DNS and the IP parser see it. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * The one address a request to `url` may connect to, or DestinationRefused. The caller connects to
 * exactly this address, so a second DNS answer (rebinding) cannot redirect the request.
 */
export async function resolveAndCheck(url: URL | string, opts: ResolveOptions): Promise<ResolvedAddress> {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DestinationRefused(`${u.protocol} URLs are not allowed`);
  const host = bareHost(u);
  const family = isIP(host);
  let addresses: ResolvedAddress[];
  if (family) {
    addresses = [{ address: host, family: family === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (opts.lookup ?? systemLookup)(host);
    } catch (err) {
      throw new NameNotResolved(`${host} does not resolve: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!addresses.length) throw new NameNotResolved(`${host} does not resolve to an address`);
  }
  const r = checkResolved(host, addresses, opts.policy ?? addressPolicy(opts.allowPrivate ?? false));
  if (!r.ok) throw new DestinationRefused(r.reason);
  return r.address;
}
