import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { DeliveryTally } from './delivery-tally.js';

export interface CountingReceiverOptions {
  /** Listening sockets on 127.0.0.1 (followers are spread over them). Default 1. */
  ports?: number;
  /** Verify every request's Standard Webhooks signature with this secret (401 when wrong). */
  secret?: string;
  /** Answer after this many milliseconds (a receiver that takes its time). */
  delayMs?: number;
  /** Parse each first delivery's JSON body and keep `data.id` (the status id). Default true. */
  parse?: boolean;
}

/**
 * Many webhook endpoints at once, for load and fault tests: `/f/<n>` on any of its ports is follower n.
 * Dedupes by `webhook-id` and counts repeats (at-least-once delivery shows up here, never as a
 * second "received"). Lean enough to take 100,000 deliveries in a benchmark.
 */
export class CountingReceiver extends DeliveryTally<HttpServer> {
  /** path -> first deliveries (webhook-id, status id when parsed). */
  readonly byPath = new Map<string, { id: string; statusId: string | null; type: string | null }[]>();
  badSignatures = 0;
  private readonly opts: Required<Pick<CountingReceiverOptions, 'delayMs' | 'parse'>> & CountingReceiverOptions;
  private readonly verifier: Webhook | null;
  private listeners: (() => void)[] = [];

  private constructor(opts: CountingReceiverOptions) {
    super();
    this.opts = { delayMs: 0, parse: true, ...opts };
    this.verifier = opts.secret ? new Webhook(opts.secret) : null;
  }

  static async start(opts: CountingReceiverOptions = {}): Promise<CountingReceiver> {
    const r = new CountingReceiver(opts);
    for (let i = 0; i < (opts.ports ?? 1); i++) {
      const server = createServer((req, res) => r.handle(req, res));
      server.keepAliveTimeout = 5000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      r.servers.push(server);
    }
    return r;
  }

  /** Followers with at least one delivery. */
  get followersReached(): number {
    return this.byPath.size;
  }

  override reset(): void {
    super.reset();
    this.byPath.clear();
    this.badSignatures = 0;
  }

  /** Resolves when `probe()` holds, checked on every delivery and every 50 ms; throws after `timeoutMs`. */
  waitFor(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (probe()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!probe()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`receiver: timed out after ${timeoutMs} ms waiting for ${what} (unique ${this.unique}, requests ${this.requests})`));
      }, timeoutMs);
      const poll = setInterval(check, 50);
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners = this.listeners.filter((l) => l !== check);
      };
      this.listeners.push(check);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      const id = req.headers['webhook-id'];
      const path = (req.url ?? '/').split('?')[0]!;
      if (typeof id !== 'string') {
        res.writeHead(400).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = null as { type?: string; data?: { id?: string } } | null;
      try {
        if (this.verifier) {
          body = this.verifier.verify(raw, {
            'webhook-id': id,
            'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
            'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
          }) as typeof body;
        } else if (this.opts.parse) {
          body = JSON.parse(raw) as typeof body;
        }
      } catch {
        this.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      if (this.arrived(id)) {
        let list = this.byPath.get(path);
        if (!list) this.byPath.set(path, (list = []));
        list.push({ id, statusId: body?.data?.id ?? null, type: body?.type ?? null });
      }
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        for (const l of this.listeners) l();
      };
      if (this.opts.delayMs > 0) setTimeout(answer, this.opts.delayMs);
      else answer();
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }
}
