import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Pool } from 'undici';
import { closeServer, listenLocal } from '../helpers/local-server.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT, postForStatus } from '../../src/net/post-for-status.js';

let server: Server;
let origin = '';
/** Every connection the server accepted, and each request's body as it arrived. */
const sockets: Socket[] = [];
const bodies: string[] = [];

const readBody = async (req: IncomingMessage) => {
  let s = '';
  for await (const chunk of req) s += String(chunk);
  return s;
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    bodies.push(await readBody(req));
    switch (req.url) {
      case '/ok':
        return res.writeHead(200, { 'content-type': 'text/plain' }).end('fine, thanks');
      case '/moved':
        return res.writeHead(302, { location: 'https://elsewhere.example.test/in' }).end();
      case '/hints':
        res.writeEarlyHints({ link: '</style.css>; rel=preload' });
        return res.writeHead(204).end();
      case '/huge':
        // More than the limit, and then it would go on: the sender must not wait for the end.
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.write(Buffer.alloc(BODY_LIMIT + 4096, 'x'));
        return;
      case '/silent':
        return; // never answers
      default:
        return res.writeHead(404).end();
    }
  });
  server.on('connection', (s) => sockets.push(s));
  origin = await listenLocal(server);
});
afterAll(() => closeServer(server));

const pools: Pool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
  sockets.length = 0;
  bodies.length = 0;
});
const pool = () => {
  const p = new Pool(origin, { connections: 1 });
  pools.push(p);
  return p;
};
const post = (p: Pool, path: string, timeoutMs = 2000) => postForStatus(p, { path, headers: { 'content-type': 'application/json', 'x-test': '1' }, body: '{"n":1}', timeoutMs });

describe('postForStatus', () => {
  it('sends the body, answers with the status and keeps the connection for the next request', async () => {
    const p = pool();
    expect(await post(p, '/ok')).toEqual({ status: 200 });
    expect(await post(p, '/ok')).toEqual({ status: 200 });
    expect(await post(p, '/nowhere')).toEqual({ status: 404 });
    expect(bodies).toEqual(['{"n":1}', '{"n":1}', '{"n":1}']);
    expect(sockets).toHaveLength(1);
  });

  it("reports a redirect's Location without following it", async () => {
    const p = pool();
    expect(await post(p, '/moved')).toEqual({ status: 302, location: 'https://elsewhere.example.test/in' });
    expect(bodies).toHaveLength(1);
  });

  it('waits past informational answers (103 Early Hints) for the real one', async () => {
    expect(await post(pool(), '/hints')).toEqual({ status: 204 });
  });

  it('stops reading an answer body past the limit: the status counts, the connection is not reused', async () => {
    const p = pool();
    expect(await post(p, '/huge')).toEqual({ status: 500 });
    expect(await post(p, '/ok')).toEqual({ status: 200 });
    expect(sockets).toHaveLength(2);
  });

  it("rejects with undici's own error when no answer comes in time or nobody listens", async () => {
    await expect(post(pool(), '/silent', 200)).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    const closed = new Pool('http://127.0.0.1:1', { connections: 1 });
    pools.push(closed);
    await expect(post(closed, '/ok')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
