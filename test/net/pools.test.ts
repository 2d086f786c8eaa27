import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pools } from '../../src/net/pools.js';

const loopback = { address: '127.0.0.1', family: 4 as const };
let server: Server;
let port = 0;

beforeAll(async () => {
  // Answers /slow after 300 ms, anything else at once.
  server = createServer((req, res) => {
    req.resume();
    const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    if (req.url === '/slow') setTimeout(answer, 300);
    else answer();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A URL on the local server under a name of its own: one pool per name, all pinned to 127.0.0.1. */
const at = (name: string, path = '/') => new URL(`http://${name}.example.test:${port}${path}`);

describe('webhook connection pools', () => {
  it('keeps one pool per checked address and name, and reuses it', () => {
    const pools = new Pools(10);
    const a = pools.for(at('a'), loopback);
    expect(pools.for(at('a', '/other'), loopback)).toBe(a);
    expect(pools.for(at('b'), loopback)).not.toBe(a);
    expect(pools.size).toBe(2);
  });

  it('past its limit closes the least recently used pool, not the ones in use', () => {
    const pools = new Pools(2);
    const a = pools.for(at('a'), loopback);
    const b = pools.for(at('b'), loopback);
    expect(pools.for(at('a'), loopback)).toBe(a); // a is now the most recent
    pools.for(at('c'), loopback); // b goes
    expect(pools.size).toBe(2);
    expect(pools.for(at('a'), loopback)).toBe(a);
    expect(pools.for(at('b'), loopback)).not.toBe(b);
  });

  it('lets a request in flight on an evicted pool finish', async () => {
    const pools = new Pools(1);
    const slow = pools.for(at('a', '/slow'), loopback).request({ method: 'POST', path: '/slow', body: '{}', headers: { host: `a.example.test:${port}` } });
    await new Promise((r) => setTimeout(r, 50)); // the request is on the wire
    const quick = await pools.for(at('b'), loopback).request({ method: 'POST', path: '/', body: '{}', headers: { host: `b.example.test:${port}` } }); // evicts a
    expect(quick.statusCode).toBe(200);
    await quick.body.dump();
    const r = await slow;
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toBe('ok');
  });
});
