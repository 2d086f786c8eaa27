import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { closeServer, listenLocal } from '../helpers/local-server.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SendLane } from '../../src/net/send-lane.js';
import type { SignedPost } from '../../src/net/signed-post.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let server: Server;
let origin = '';
const received: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
/** Requests to /hold wait here until a test lets them go. */
const held: (() => void)[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    received.push({ url: req.url ?? '', headers: req.headers, body });
    if (req.url === '/moved') return res.writeHead(301, { location: 'https://elsewhere.example.test/' }).end();
    if (req.url === '/hold') return held.push(() => res.writeHead(200).end());
    res.writeHead(req.url === '/gone' ? 410 : 200).end('ok');
  });
  origin = await listenLocal(server);
});
afterAll(() => closeServer(server));

const lanes: SendLane[] = [];
afterEach(async () => {
  held.splice(0).forEach((go) => go());
  await Promise.all(lanes.splice(0).map((l) => l.close()));
  received.length = 0;
});
const lane = () => {
  const l = new SendLane();
  lanes.push(l);
  return l;
};
const req = (path: string, id: string, body = `{"n":"${id}"}`): SignedPost => ({ url: `${origin}${path}`, address: { address: '127.0.0.1', family: 4 }, secret, id, body, timeoutMs: 2000 });

describe('webhook sends on the send thread', () => {
  it('signs and posts each send there: every body arrives once, with a signature standardwebhooks verifies', async () => {
    const l = lane();
    const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => l.post(req(`/in?i=${i}`, `msg_${i}`))));
    expect(answers.every((a) => a.kind === 'answered' && a.status === 200)).toBe(true);
    expect(received).toHaveLength(150);
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(150);
    const wh = new Webhook(secret);
    for (const r of received) {
      const verified = wh.verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) });
      expect(verified).toEqual({ n: r.headers['webhook-id'] });
      expect(r.headers['user-agent']).toBe('Twitterprise-Webhooks/1');
    }
    expect(l.inFlight).toBe(0);
  });

  it('answers with the status and a redirect location, not following it; a dead address is "no answer"', async () => {
    const l = lane();
    expect(await l.post(req('/gone', 'msg_g'))).toEqual({ kind: 'answered', status: 410 });
    expect(await l.post(req('/moved', 'msg_m'))).toEqual({ kind: 'answered', status: 301, location: 'https://elsewhere.example.test/' });
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const dead = await l.post({ ...req('/x', 'msg_d'), url: `http://127.0.0.1:${port}/x` });
    expect(dead).toEqual({ kind: 'no_answer', error: 'connection refused (ECONNREFUSED)' });
  });

  it('signs with the time it is given, so a receiver checks the time of the send', async () => {
    const l = lane();
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    await l.post({ ...req('/in', 'msg_t'), at });
    expect(received[0]?.headers['webhook-timestamp']).toBe(String(at / 1000));
  });

  it('a thread that dies rejects the sends it held, and the next send starts a new thread', async () => {
    const l = lane();
    const waiting = [l.post(req('/hold', 'msg_h1')), l.post(req('/hold', 'msg_h2'))];
    await expect.poll(() => held.length).toBe(2);
    await l.close();
    for (const w of waiting) await expect(w).rejects.toThrow(/the send thread stopped/);
    expect(l.inFlight).toBe(0);
    expect(await l.post(req('/in', 'msg_after'))).toEqual({ kind: 'answered', status: 200 });
  });
});
