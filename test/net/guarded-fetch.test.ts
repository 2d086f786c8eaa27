import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressPolicy } from '../../src/net/address-guard.js';
import { guardedFetch, parseRetryAfter } from '../../src/net/guarded-fetch.js';

// Two loopback servers: 127.0.0.1 is "public" for the test policy, 127.0.0.2 is "private".
const onlyDotOne: AddressPolicy = (ip) => ip === '127.0.0.1';
let one: Server;
let two: Server;
let base = '';
let forbidden = '';
let hitsOnTwo = 0;

async function listen(host: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<[Server, string]> {
  const s = createServer(handler);
  s.listen(0, host);
  await once(s, 'listening');
  return [s, `http://${host}:${(s.address() as AddressInfo).port}`];
}

beforeAll(async () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros, ~64 KiB compressed
  [two, forbidden] = await listen('127.0.0.2', (_req, res) => {
    hitsOnTwo++;
    res.end('secret');
  });
  [one, base] = await listen('127.0.0.1', (req, res) => {
    const path = req.url ?? '/';
    if (path === '/doc') {
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
      return void res.writeHead(200, { etag: '"v1"', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT', 'content-type': 'text/plain' }).end('hello');
    }
    if (path === '/gz') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('compressed hello'));
    if (path === '/bomb') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb);
    if (path === '/big') return void res.writeHead(200, { 'content-length': String(2048) }).end(Buffer.alloc(2048));
    if (path === '/big-chunked') {
      res.writeHead(200);
      res.write(Buffer.alloc(1500));
      return void res.end(Buffer.alloc(1500));
    }
    if (path === '/p1') return void res.writeHead(301, { location: '/p2' }).end();
    if (path === '/p2') return void res.writeHead(308, { location: `${base}/doc` }).end();
    if (path === '/t1') return void res.writeHead(302, { location: '/p1' }).end();
    if (path === '/m1') return void res.writeHead(301, { location: '/t2' }).end();
    if (path === '/t2') return void res.writeHead(307, { location: '/doc' }).end();
    if (path === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (path === '/to-two') return void res.writeHead(302, { location: `${forbidden}/x` }).end();
    if (path === '/busy') return void res.writeHead(429, { 'retry-after': '120' }).end();
    if (path === '/gone') return void res.writeHead(410).end();
    if (path === '/hang') return; // never answers
    res.writeHead(404).end();
  });
});
afterAll(async () => {
  for (const s of [one, two]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const get = (path: string, extra: Parameters<typeof guardedFetch>[1] extends infer O ? Partial<O> : never = {}) => guardedFetch(`${base}${path}`, { policy: onlyDotOne, ...extra });

describe('guardedFetch', () => {
  it('fetches, reports validators, and answers a conditional GET with not_modified', async () => {
    const r = await get('/doc');
    expect(r).toMatchObject({ kind: 'ok', status: 200, etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT', contentType: 'text/plain' });
    expect(r.kind === 'ok' && r.body.toString()).toBe('hello');
    expect(await get('/doc', { etag: '"v1"' })).toMatchObject({ kind: 'not_modified', etag: '"v1"' });
  });

  it('decompresses gzip, and refuses a gzip bomb at the cap without inflating it whole', async () => {
    const r = await get('/gz');
    expect(r.kind === 'ok' && r.body.toString()).toBe('compressed hello');
    const bomb = await get('/bomb', { maxBytes: 1024 * 1024 });
    expect(bomb).toEqual({ kind: 'failed', error: 'the body is larger than 1 MiB once decompressed' });
  });

  it('refuses a body over the cap, announced or not', async () => {
    expect(await get('/big', { maxBytes: 1000 })).toMatchObject({ kind: 'failed', error: expect.stringMatching(/larger than/) as unknown });
    expect(await get('/big-chunked', { maxBytes: 2000 })).toMatchObject({ kind: 'failed', error: expect.stringMatching(/larger than/) as unknown });
    expect(await get('/big-chunked', { maxBytes: 3000 })).toMatchObject({ kind: 'ok' });
  });

  it('follows redirects by hand and reports a chain of permanent ones as the new URL', async () => {
    expect(await get('/p1')).toMatchObject({ kind: 'ok', url: `${base}/doc`, permanentUrl: `${base}/doc` });
    // A temporary hop first: the stored URL stays.
    const t = await get('/t1');
    expect(t).toMatchObject({ kind: 'ok', url: `${base}/doc` });
    expect(t).not.toHaveProperty('permanentUrl');
    // Permanent, then temporary: the URL moves as far as the permanent hop.
    expect(await get('/m1')).toMatchObject({ kind: 'ok', permanentUrl: `${base}/t2` });
    expect(await get('/loop')).toEqual({ kind: 'failed', error: 'more than 5 redirects' });
  });

  it('checks every hop: 127.0.0.2 is refused directly and as a redirect target, and never receives a request', async () => {
    expect(await guardedFetch(`${forbidden}/x`, { policy: onlyDotOne })).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/127\.0\.0\.2/) as unknown });
    const r = await get('/to-two');
    expect(r).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/^redirect to http:\/\/127\.0\.0\.2.*refused/) as unknown });
    expect(hitsOnTwo).toBe(0);
    expect(await guardedFetch('ftp://127.0.0.1/x', { policy: onlyDotOne })).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/ftp/) as unknown });
    expect(await guardedFetch('not a url', { policy: onlyDotOne })).toMatchObject({ kind: 'refused' });
  });

  it('reports HTTP errors with Retry-After, and gives up on a server that does not answer', async () => {
    expect(await get('/busy')).toMatchObject({ kind: 'http_error', status: 429, retryAfterMs: 120_000 });
    expect(await get('/gone')).toMatchObject({ kind: 'http_error', status: 410 });
    expect(await get('/hang', { timeoutMs: 300 })).toEqual({ kind: 'failed', error: 'no answer within 0.3 s' });
  });

  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
