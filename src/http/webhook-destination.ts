import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { DestinationCheck } from '../app/webhooks.js';
import type { Config } from '../config.js';
import { invalid } from '../core/errors.js';

// PLACEHOLDER until src/integrations/webhooks/ssrf-guard.ts lands; then this delegates to it.
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  // NAT64 can reach any IPv4 address, private ones included.
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) blocked.addSubnet(net, bits, 'ipv6');

export function webhookDestinationCheck(config: Pick<Config, 'webhooks'>): DestinationCheck {
  return async (url) => {
    if (config.webhooks.allowPrivate) return;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addrs = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true }).catch(() => []);
    if (!addrs.length) throw invalid(`${url.hostname} does not resolve to an address.`);
    for (const a of addrs) {
      if (blocked.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4')) {
        throw invalid(`${url.hostname} points to a private, loopback or link-local address (${a.address}); webhook URLs must be public unless WEBHOOK_ALLOW_PRIVATE=true.`);
      }
    }
  };
}
