import { createServer, type Socket } from 'node:net';
import { DeliveryTally } from '../test/fakes/delivery-tally.js';

const OK = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok', 'latin1');
const OK_CLOSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok', 'latin1');
const BAD = Buffer.from('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n', 'latin1');
const BAD_CLOSE = Buffer.from('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1');
const TOO_LARGE = Buffer.from('HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HEAD = 64 * 1024;
const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01](?:\r\n|$)/;

/**
 * The benchmark's webhook receiver: a minimal HTTP/1.1 server on node:net (keep-alive, pipelining,
 * Content-Length bodies read and discarded). The receivers share the bench machine's two cores with the
 * app under test, and this one costs about half of node:http's user-space CPU per request (the kernel's
 * part, a read and a write per request, stays). It counts like test/fakes/counting-receiver.ts, which the
 * tests keep using because it also verifies signatures and can delay its answers.
 */
export class LeanReceiver extends DeliveryTally {
  private readonly sockets = new Set<Socket>();
  /** Every `sampleEvery`-th request's signature headers and body, kept whole so the bench can verify them. */
  readonly samples: Sample[] = [];
  private sampleEvery = 0;

  static async start(opts: { ports?: number; sampleEvery?: number } = {}): Promise<LeanReceiver> {
    const r = new LeanReceiver();
    r.sampleEvery = opts.sampleEvery ?? 0;
    for (let i = 0; i < (opts.ports ?? 1); i++) {
      const server = createServer((socket) => r.accept(socket));
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
      r.servers.push(server);
    }
    return r;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {}); // a peer that resets is normal
    const conn = new Connection(socket, this.count, this.wantSample);
    socket.on('data', (chunk: Buffer) => conn.read(chunk));
  }

  override reset(): void {
    super.reset();
    this.samples.length = 0;
  }

  /** Whether the next request's signature is kept (every sampleEvery-th, counted over all connections). */
  private readonly wantSample = (): ((s: Sample) => void) | null => (this.sampleEvery > 0 && this.requests % this.sampleEvery === 0 ? (x) => this.samples.push(x) : null);

  /** One complete request: false (400) without a webhook-id. */
  private readonly count = (id: string | null): boolean => {
    this.requests++;
    if (id === null) return false;
    this.arrived(id);
    return true;
  };
}

/** One request's Standard Webhooks headers and its body, as they arrived. */
export interface Sample {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
}

/** One keep-alive connection's parser state: requests may straddle chunks, or several share one. */
class Connection {
  /** Start of a header block whose end has not arrived yet. */
  private pending: Buffer | null = null;
  /** Body bytes of the current request still to come (its headers are in `id` and `close`). */
  private skip = 0;
  private id: string | null = null;
  private length = 0;
  private close = false;
  private timestamp = '';
  private signature = '';
  /** A closing answer is written: ignore the rest. */
  private done = false;
  private readonly out: Buffer[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly count: (id: string | null) => boolean,
    private readonly wantSample: () => ((s: Sample) => void) | null,
  ) {}

  read(chunk: Buffer): void {
    if (this.done) return;
    let buf = chunk;
    let pos = 0;
    let scan = 0;
    if (this.skip > 0) {
      pos = scan = Math.min(this.skip, buf.length);
      this.skip -= pos;
      if (this.skip === 0) this.answer();
    } else if (this.pending) {
      scan = Math.max(0, this.pending.length - 3);
      buf = Buffer.concat([this.pending, buf]);
      this.pending = null;
    }
    while (!this.done && pos < buf.length) {
      const end = buf.indexOf(HEAD_END, scan);
      if (end < 0 && buf.length - pos <= MAX_HEAD) {
        this.pending = buf.subarray(pos);
        break;
      }
      if (end < 0 || end - pos > MAX_HEAD) this.finish(TOO_LARGE);
      else if (!this.head(buf.toString('latin1', pos, end))) this.finish(BAD_CLOSE);
      else if (buf.length - end - 4 < this.length) {
        this.skip = this.length - (buf.length - end - 4);
        break;
      } else {
        const keep = this.id !== null ? this.wantSample() : null;
        // Only a body whole in this buffer is sampled (nearly all are); the count is unaffected.
        keep?.({ id: this.id!, timestamp: this.timestamp, signature: this.signature, body: buf.toString('utf8', end + 4, end + 4 + this.length) });
        pos = scan = end + 4 + this.length;
        this.answer();
      }
    }
    const out = this.out;
    if (out.length === 0) return;
    const data = out.length === 1 ? out[0]! : Buffer.concat(out);
    out.length = 0;
    if (this.done) this.socket.end(data);
    else this.socket.write(data);
  }

  private answer(): void {
    const ok = this.count(this.id);
    if (this.close) this.finish(ok ? OK_CLOSE : BAD_CLOSE);
    else this.out.push(ok ? OK : BAD);
  }

  private finish(last: Buffer): void {
    this.out.push(last);
    this.done = true;
  }

  /** Reads the headers this receiver needs; false when the request is refused (bad request line, chunked, bad content-length). */
  private head(head: string): boolean {
    if (!REQUEST_LINE.test(head)) return false;
    let at = head.indexOf('\r\n');
    if (at < 0) at = head.length;
    this.close = head.startsWith('HTTP/1.0', at - 8);
    this.id = null;
    this.timestamp = this.signature = '';
    this.length = 0;
    while (at < head.length) {
      const start = at + 2;
      at = head.indexOf('\r\n', start);
      if (at < 0) at = head.length;
      const colon = head.indexOf(':', start);
      const n = colon - start;
      if (colon < 0 || colon > at || (n !== 10 && n !== 14 && n !== 17)) continue;
      const name = head.slice(start, colon).toLowerCase();
      const value = head.slice(colon + 1, at).trim();
      if (name === 'webhook-id') this.id = value;
      else if (name === 'webhook-timestamp') this.timestamp = value;
      else if (name === 'webhook-signature') this.signature = value;
      else if (name === 'transfer-encoding') return false;
      else if (name === 'connection') this.close = /\bclose\b/i.test(value) || (this.close && !/\bkeep-alive\b/i.test(value));
      else if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) return false;
        this.length = Number(value);
      }
    }
    return true;
  }
}
