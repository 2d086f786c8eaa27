import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LeanReceiver } from '../../bench/receiver.js';
import { waitUntil } from '../helpers/wait.js';

const OK = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok';

let receiver: LeanReceiver;
const clients: Socket[] = [];

beforeAll(async () => {
  receiver = await LeanReceiver.start({ ports: 2 });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  receiver.reset();
});
afterAll(async () => {
  await receiver.close();
});

/** A raw keep-alive client on 127.0.0.1 that keeps everything it reads. */
async function raw(port = receiver.ports[0]!) {
  const socket = createConnection({ host: '127.0.0.1', port });
  clients.push(socket);
  socket.setNoDelay(true);
  socket.setEncoding('latin1');
  const client = { socket, text: '', ended: false };
  socket.on('data', (s: string) => (client.text += s));
  socket.on('close', () => (client.ended = true));
  await once(socket, 'connect');
  return client;
}

const until = (probe: () => boolean, what: string) => waitUntil(probe, what, { timeoutMs: 3000, everyMs: 5 });

function post(id: string | null, body = '{"type":"status.posted"}', extra = ''): string {
  const idLine = id === null ? '' : `webhook-id: ${id}\r\n`;
  return `POST /f/1 HTTP/1.1\r\nhost: 127.0.0.1\r\n${idLine}Content-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const count = (text: string, s: string) => text.split(s).length - 1;

describe('LeanReceiver', () => {
  it('answers undici POSTs with 200 "ok" and counts repeats over a keep-alive pool', async () => {
    const dispatcher = new Agent({ connections: 5 });
    try {
      expect(receiver.url(3)).toBe(`http://127.0.0.1:${receiver.ports[1]}/f/3`);
      const answers = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const res = await request(receiver.url(i), {
            method: 'POST',
            dispatcher,
            headers: { 'content-type': 'application/json', 'webhook-id': `msg_${i % 10}` },
            body: JSON.stringify({ type: 'status.posted', data: { id: `s${i}`, text: 'x'.repeat(i * 40) } }),
          });
          return { status: res.statusCode, body: await res.body.text() };
        }),
      );
      expect(answers.every((a) => a.status === 200 && a.body === 'ok')).toBe(true);
      expect({ unique: receiver.unique, repeats: receiver.repeats, requests: receiver.requests }).toEqual({ unique: 10, repeats: 40, requests: 50 });
      expect([...receiver.seen.values()]).toEqual(Array(10).fill(5));
      expect(receiver.firstAt).toBeGreaterThan(0);
      expect(receiver.lastAt).toBeGreaterThanOrEqual(receiver.firstAt);
    } finally {
      await dispatcher.close();
    }
  });

  it('answers pipelined requests in order', async () => {
    const c = await raw();
    c.socket.write(post('a') + post(null) + post('b'));
    await until(() => count(c.text, 'HTTP/1.1') === 3, 'three answers');
    expect(c.text).toBe(`${OK}HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n${OK}`);
    expect({ unique: receiver.unique, requests: receiver.requests, ended: c.ended }).toEqual({ unique: 2, requests: 3, ended: false });
  });

  it('answers a request written byte by byte once', async () => {
    const c = await raw();
    const bytes = Buffer.from(post('split', '{"a":"é"}'));
    for (let i = 0; i < bytes.length; i++) {
      c.socket.write(bytes.subarray(i, i + 1));
      await sleep(1);
    }
    await until(() => c.text.length >= OK.length, 'the answer');
    await sleep(30);
    expect(c.text).toBe(OK);
    expect({ unique: receiver.unique, requests: receiver.requests }).toEqual({ unique: 1, requests: 1 });
  });

  it('skips a large body that spans chunks, then reads the request pipelined after it', async () => {
    const c = await raw();
    const big = Buffer.from(post('big', 'x'.repeat(300_000)) + post('next'));
    const cuts = [0, 20, 100_000, 200_000, big.length];
    for (let i = 1; i < cuts.length; i++) {
      c.socket.write(big.subarray(cuts[i - 1], cuts[i]));
      await sleep(10);
    }
    await until(() => count(c.text, 'HTTP/1.1') === 2, 'two answers');
    expect(c.text).toBe(OK + OK);
    expect([...receiver.seen.keys()]).toEqual(['big', 'next']);
  });

  it('refuses requests it cannot read', async () => {
    const missing = await request(receiver.url(1), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(missing.statusCode).toBe(400);
    await missing.body.dump();

    const chunked = await raw();
    chunked.socket.write('POST /f/1 HTTP/1.1\r\nhost: x\r\nwebhook-id: c\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    await until(() => chunked.ended, 'the connection to close');
    expect(chunked.text).toBe('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');

    const badLength = await raw();
    badLength.socket.write('POST /f/1 HTTP/1.1\r\nwebhook-id: d\r\ncontent-length: -1\r\n\r\n');
    await until(() => badLength.ended, 'the connection to close');
    expect(badLength.text).toMatch(/^HTTP\/1\.1 400 .*connection: close/s);

    const garbage = await raw();
    garbage.socket.write('{"not":"http"}\r\nwebhook-id: e\r\n\r\n');
    await until(() => garbage.ended, 'the connection to close');
    expect(garbage.text).toMatch(/^HTTP\/1\.1 400 .*connection: close/s);

    const huge = await raw();
    huge.socket.write(`POST /f/1 HTTP/1.1\r\nx-filler: ${'y'.repeat(70_000)}`);
    await until(() => huge.ended, 'the connection to close');
    expect(huge.text).toMatch(/^HTTP\/1\.1 431 .*connection: close/s);
    expect(receiver.unique).toBe(0);
  });

  it('answers then ends the socket on connection: close', async () => {
    const c = await raw();
    c.socket.write(post('bye', '{}', 'Connection: close\r\n') + post('ignored'));
    await until(() => c.ended, 'the connection to close');
    expect(c.text).toBe('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    expect([...receiver.seen.keys()]).toEqual(['bye']);
  });

  it('reset() clears the counts', async () => {
    const c = await raw();
    c.socket.write(post('r') + post('r'));
    await until(() => receiver.requests === 2, 'two requests');
    expect(receiver.repeats).toBe(1);
    receiver.reset();
    expect({ unique: receiver.unique, requests: receiver.requests, repeats: receiver.repeats, firstAt: receiver.firstAt, lastAt: receiver.lastAt }).toEqual({
      unique: 0,
      requests: 0,
      repeats: 0,
      firstAt: 0,
      lastAt: 0,
    });
  });
});

describe('LeanReceiver samples', () => {
  it('keeps every n-th request whole, so the bench can verify real signatures', async () => {
    const secret = `whsec_${Buffer.from('bench-sampling-secret-0123456789').toString('base64')}`;
    const sampling = await LeanReceiver.start({ sampleEvery: 3 });
    const dispatcher = new Agent({ connections: 2 });
    try {
      const wh = new Webhook(secret);
      for (let i = 0; i < 9; i++) {
        const body = JSON.stringify({ type: 'status.created', data: { id: `s${i}`, text: 'é'.repeat(i) } });
        const at = new Date();
        const res = await request(sampling.url(i), {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': 'application/json', 'webhook-id': `msg_${i}`, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': wh.sign(`msg_${i}`, at, body) },
          body,
        });
        await res.body.text();
      }
      expect(sampling.samples.map((s) => s.id)).toEqual(['msg_0', 'msg_3', 'msg_6']);
      for (const s of sampling.samples) {
        expect(() => wh.verify(s.body, { 'webhook-id': s.id, 'webhook-timestamp': s.timestamp, 'webhook-signature': s.signature })).not.toThrow();
      }
      const forged = { ...sampling.samples[0]!, body: sampling.samples[0]!.body.replace('s0', 's9') };
      expect(() => wh.verify(forged.body, { 'webhook-id': forged.id, 'webhook-timestamp': forged.timestamp, 'webhook-signature': forged.signature })).toThrow();
    } finally {
      await dispatcher.close();
      await sampling.close();
    }
  });
});

describe('LeanReceiver.close', () => {
  it('resolves while a keep-alive client is still connected', async () => {
    const r = await LeanReceiver.start();
    const c = await raw(r.ports[0]);
    c.socket.write(post('k'));
    await until(() => c.text === OK, 'the answer');
    expect(c.ended).toBe(false);
    const closed = await Promise.race([r.close().then(() => 'closed'), sleep(2000, 'still open')]);
    expect(closed).toBe('closed');
    await until(() => c.ended, 'the client to see the close');
  });
});
