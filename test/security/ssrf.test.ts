import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhooks } from '../../src/db/schema.js';
import { sendWebhook } from '../../src/integrations/webhooks/send.js';
import { checkResolved, DestinationRefused, isPrivateAddress, resolveAndCheck, type LookupFn } from '../../src/net/address-guard.js';
import { expectProblem, startHarness, type Harness } from '../http/harness.js';

/**
 * The SSRF guard. Nothing here ever connects to a private address other than 127.0.0.1 servers of
 * the test's own: names "resolving" to 10.x or 169.254.x come from injected lookups, and the guard
 * must refuse them before any socket is opened.
 */

const PRIVATE_URLS = [
  'http://10.0.0.7/hook',
  'http://10.255.255.255:8080/hook',
  'http://127.0.0.1/hook',
  'http://127.1/hook',
  'http://2130706433/hook', // 127.0.0.1 as one decimal number
  'http://0x7f000001/hook',
  'http://0177.0.0.1/hook', // octal
  'http://169.254.169.254/latest/meta-data/',
  'http://172.16.0.1/hook',
  'http://192.168.1.1/hook',
  'http://0.0.0.0/hook',
  'http://[::1]/hook',
  'http://[::]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:a9fe:a9fe]/hook', // 169.254.169.254, IPv4-mapped
  'http://[fe80::1]/hook',
  'http://[fd00::1]/hook',
  'http://[64:ff9b::a00:7]/hook', // NAT64 of 10.0.0.7
  'http://localhost/hook', // resolved from the hosts file, never DNS
];

let strict: Harness;
let token: string;

beforeAll(async () => {
  strict = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
  token = (await strict.person('mallory')).token;
});
afterAll(() => strict?.close());

describe('saving a webhook URL (WEBHOOK_ALLOW_PRIVATE=false)', () => {
  it('refuses every private, loopback, link-local and unspecified destination with a 4xx problem', async () => {
    for (const url of PRIVATE_URLS) {
      const r = await strict.call('POST', '/api/v1/webhooks', { token, body: { url } });
      expect([400, 422], `${url}: ${r.text}`).toContain(r.status);
      expectProblem(r, r.status);
    }
    expect(await strict.t.database.db.select().from(webhooks)).toHaveLength(0);
  });

  it('refuses changing a saved public URL to a private one', async () => {
    // An IP literal is checked without DNS and nothing is sent on save, so this touches no network.
    const w = await strict.call('POST', '/api/v1/webhooks', { token, body: { url: 'https://93.184.215.14/hook' } });
    expect(w.status).toBe(201);
    for (const url of ['http://169.254.169.254/latest', 'http://[::1]:3000/', 'http://10.1.1.1/']) {
      const r = await strict.call('PATCH', `/api/v1/webhooks/${w.body.id}`, { token, body: { url } });
      expect([400, 422], `${url}: ${r.text}`).toContain(r.status);
    }
    const got = await strict.call('GET', `/api/v1/webhooks/${w.body.id}`, { token });
    expect(got.body.url).toBe('https://93.184.215.14/hook');
  });

  it('refuses schemes other than http and https', async () => {
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'ftp://example.com/x', 'javascript:alert(1)', 'data:text/plain,hi']) {
      const r = await strict.call('POST', '/api/v1/webhooks', { token, body: { url } });
      expectProblem(r, 400);
    }
  });
});

describe('the guard as pure functions (names resolving to private addresses)', () => {
  const resolvesTo =
    (...addresses: string[]): LookupFn =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);

  it('classifies addresses', () => {
    for (const ip of ['10.0.0.1', '127.0.0.1', '127.255.0.9', '169.254.169.254', '::1', '::ffff:10.0.0.1', 'fe80::1%eth0', '[::1]', 'fd12::1', '0.0.0.0', '100.64.0.1', 'not-an-ip']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111']) expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it('refuses a name resolving to 10.x, 127.x, 169.254.x or ::1, and one resolving to a public and a private address', async () => {
    for (const addrs of [['10.0.0.7'], ['127.0.0.1'], ['169.254.169.254'], ['::1'], ['93.184.215.14', '10.0.0.7'], ['2606:4700::1', 'fe80::1']]) {
      const r = checkResolved('hooks.partner.example', addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
      expect(r.ok, addrs.join(',')).toBe(false);
      await expect(resolveAndCheck('https://hooks.partner.example/x', { allowPrivate: false, lookup: resolvesTo(...addrs) })).rejects.toBeInstanceOf(DestinationRefused);
    }
    await expect(resolveAndCheck('https://hooks.partner.example/x', { allowPrivate: false, lookup: resolvesTo() })).rejects.toBeInstanceOf(DestinationRefused);
    const ok = await resolveAndCheck('https://hooks.partner.example/x', { allowPrivate: false, lookup: resolvesTo('93.184.215.14') });
    expect(ok.address).toBe('93.184.215.14');
  });
});

describe('sending', () => {
  let hits = 0;
  let redirectHits = 0;
  let target: Server;
  let redirector: Server;
  let targetUrl: string;
  let redirectorUrl: string;

  beforeAll(async () => {
    target = createServer((req, res) => {
      hits++;
      req.resume();
      res.end('ok');
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/after-redirect`;
    redirector = createServer((req, res) => {
      redirectHits++;
      req.resume();
      res.writeHead(307, { location: targetUrl }).end();
    });
    redirector.listen(0, '127.0.0.1');
    await once(redirector, 'listening');
    redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    target.closeAllConnections();
    redirector.closeAllConnections();
    await Promise.all([new Promise((r) => target.close(r)), new Promise((r) => redirector.close(r))]);
  });

  const send = (url: string, allowPrivate: boolean, lookup?: LookupFn) =>
    sendWebhook({ url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id: 'msg_1', body: '{"type":"webhook.test"}', timeoutMs: 2000, allowPrivate, lookup });

  it('checks the address again at send time: a name that now resolves to 127.0.0.1 is not called', async () => {
    const port = (target.address() as AddressInfo).port;
    const r = await send(`http://rebound.partner.example:${port}/x`, false, async () => [{ address: '127.0.0.1', family: 4 }]);
    expect(r.kind).toBe('refused');
    const direct = await send(targetUrl, false);
    expect(direct.kind).toBe('refused');
    expect(hits).toBe(0);
  });

  it('connects to exactly the address it checked (the pinned lookup), never a second DNS answer', async () => {
    const port = (target.address() as AddressInfo).port;
    let lookups = 0;
    const r = await send(`http://pinned.partner.example:${port}/x`, true, async () => {
      lookups++;
      return [{ address: '127.0.0.1', family: 4 }];
    });
    expect(r).toEqual({ kind: 'answered', status: 200 });
    expect(lookups).toBe(1);
    expect(hits).toBe(1);
  });

  it('does not follow a redirect from a 127.0.0.1 receiver: the 3xx is the answer', async () => {
    const before = hits;
    const r = await send(redirectorUrl, true);
    expect(r).toMatchObject({ kind: 'answered', status: 307, location: targetUrl });
    expect(redirectHits).toBe(1);
    expect(hits).toBe(before);
  });
});
