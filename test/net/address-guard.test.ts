import { describe, expect, it } from 'vitest';
import { checkResolved, DestinationRefused, isPrivateAddress, mappedIpv4, NameNotResolved, resolveAndCheck, type LookupFn } from '../../src/net/address-guard.js';

// Pure checks only: nothing here opens a connection or asks a real DNS server.
describe('isPrivateAddress', () => {
  it.each([
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['169.254.169.254', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.10', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.251', true],
    ['255.255.255.255', true],
    ['192.0.2.1', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['[::1]', true],
    ['fc00::1', true],
    ['fd12:3456::1', true],
    ['ff02::1', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:a00:1', true],
    ['::ffff:127.0.0.1', true],
    ['64:ff9b::a00:1', true],
    ['2002:a00:1::', true],
    ['not an ip', true],
    ['93.184.216.34', false],
    ['8.8.8.8', false],
    ['172.15.255.255', false],
    ['172.32.0.1', false],
    ['100.128.0.1', false],
    ['::ffff:93.184.216.34', false],
    ['2606:2800:220:1:248:1893:25c8:1946', false],
  ])('%s -> private: %s', (ip, expected) => {
    expect(isPrivateAddress(ip)).toBe(expected);
  });

  it('reads IPv4-mapped IPv6 in both spellings', () => {
    expect(mappedIpv4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(mappedIpv4('::ffff:a00:1')).toBe('10.0.0.1');
    expect(mappedIpv4('0:0:0:0:0:ffff:5db8:d822')).toBe('93.184.216.34');
    expect(mappedIpv4('2001:db8::1')).toBeNull();
  });
});

describe('checkResolved', () => {
  it('accepts a name whose every address is public, and refuses one with any private address', () => {
    expect(checkResolved('example.test', [{ address: '93.184.216.34', family: 4 }])).toEqual({ ok: true, address: { address: '93.184.216.34', family: 4 } });
    const mixed = checkResolved('mixed.test', [
      { address: '93.184.216.34', family: 4 },
      { address: '10.1.1.1', family: 4 },
    ]);
    expect(mixed).toMatchObject({ ok: false });
    expect(!mixed.ok && mixed.reason).toMatch(/mixed\.test resolves to a private.*10\.1\.1\.1/);
    expect(checkResolved('nothing.test', [])).toMatchObject({ ok: false });
  });
});

describe('resolveAndCheck', () => {
  const lookupTo =
    (...addresses: string[]): LookupFn =>
    () =>
      Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) })));

  it('refuses a name that resolves to a private address (DNS answer injected)', async () => {
    const err = await resolveAndCheck('https://hooks.example.test/in', { allowPrivate: false, lookup: lookupTo('10.0.0.5') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationRefused);
    expect((err as DestinationRefused).reason).toMatch(/10\.0\.0\.5/);
    await expect(resolveAndCheck('https://rebind.example.test/', { allowPrivate: false, lookup: lookupTo('::ffff:169.254.169.254') })).rejects.toThrow(DestinationRefused);
  });

  it('returns the vetted address of a public name, to connect to exactly that', async () => {
    expect(await resolveAndCheck('https://hooks.example.test/in', { allowPrivate: false, lookup: lookupTo('93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946') })).toEqual({
      address: '93.184.216.34',
      family: 4,
    });
  });

  it('checks IP literals without a lookup, and allows private ones only when told', async () => {
    const never: LookupFn = () => Promise.reject(new Error('must not resolve an IP literal'));
    await expect(resolveAndCheck('http://127.0.0.1:8080/x', { allowPrivate: false, lookup: never })).rejects.toThrow(/127\.0\.0\.1/);
    await expect(resolveAndCheck('http://[::1]:8080/x', { allowPrivate: false, lookup: never })).rejects.toThrow(DestinationRefused);
    expect(await resolveAndCheck('http://127.0.0.1:8080/x', { allowPrivate: true, lookup: never })).toEqual({ address: '127.0.0.1', family: 4 });
  });

  it('refuses names that do not resolve and schemes other than http(s)', async () => {
    await expect(resolveAndCheck('https://nowhere.test/', { allowPrivate: false, lookup: () => Promise.reject(new Error('ENOTFOUND')) })).rejects.toThrow(/does not resolve/);
    // Told apart from a refusal by policy, so that a send retries it: DNS may be away for a moment.
    for (const allowPrivate of [false, true]) {
      await expect(resolveAndCheck('https://nowhere.test/', { allowPrivate, lookup: () => Promise.reject(new Error('EAI_AGAIN')) })).rejects.toThrow(NameNotResolved);
      await expect(resolveAndCheck('https://empty.test/', { allowPrivate, lookup: () => Promise.resolve([]) })).rejects.toThrow(NameNotResolved);
    }
    const policy = await resolveAndCheck('https://inside.test/', { allowPrivate: false, lookup: () => Promise.resolve([{ address: '10.0.0.5', family: 4 }]) }).catch((e: unknown) => e);
    expect(policy).toBeInstanceOf(DestinationRefused);
    expect(policy).not.toBeInstanceOf(NameNotResolved);
    await expect(resolveAndCheck('ftp://93.184.216.34/', { allowPrivate: false })).rejects.toThrow(/ftp/);
  });
});
