import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitUntil } from '../helpers/wait.js';

/** How one path answers. */
export type Behaviour =
  | { kind: 'ok' }
  /** Answer `status` for the next `times` requests, then 200. */
  | { kind: 'fail'; status: number; times: number }
  /** Always answer this status (410, 500, ...). */
  | { kind: 'status'; status: number }
  | { kind: 'redirect'; status: number; location: string }
  /** Never answer (the sender's timeout must fire). */
  | { kind: 'hang' }
  /** Destroy the socket without an answer. */
  | { kind: 'reset' }
  /** Answer the next request as `ok` once `until` has settled (a send held in flight while the test changes the world); then `ok`. */
  | { kind: 'after'; until: () => Promise<unknown> };

export interface ReceivedEvent {
  path: string;
  id: string;
  timestamp: string;
  type: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
  raw: string;
}

/**
 * A webhook endpoint on 127.0.0.1 that verifies Standard Webhooks signatures with the `standardwebhooks`
 * package, dedupes by `webhook-id` (counting repeats) and answers as told per path.
 */
export class WebhookReceiver {
  /** First verified delivery of each webhook-id, in arrival order. */
  readonly events: ReceivedEvent[] = [];
  /** Every request, verified or not, answered or not. */
  readonly requests: { path: string; id: string | undefined }[] = [];
  readonly badSignatures: { path: string; error: string }[] = [];
  private readonly seen = new Map<string, number>();
  private readonly secrets = new Map<string, string>();
  private readonly behaviour = new Map<string, Behaviour>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const r = new WebhookReceiver(server);
    server.on('request', (req, res) => void r.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The secret this path verifies with (an endpoint's `whsec_...`). */
  expect(path: string, secret: string): void {
    this.secrets.set(path, secret);
  }

  answer(path: string, b: Behaviour): void {
    this.behaviour.set(path, b);
  }

  /** How many times a webhook-id arrived beyond the first. */
  repeats(id: string): number {
    return Math.max(0, (this.seen.get(id) ?? 0) - 1);
  }

  hits(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  eventsAt(path: string): ReceivedEvent[] {
    return this.events.filter((e) => e.path === path);
  }

  waitFor<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
    return waitUntil(probe, `${what} at the webhook receiver`, timeoutMs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;
    const id = req.headers['webhook-id'] as string | undefined;
    this.requests.push({ path, id });
    const b = this.behaviour.get(path) ?? { kind: 'ok' };
    if (b.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (b.kind === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (b.kind === 'redirect') {
      res.writeHead(b.status, { location: b.location }).end();
      return;
    }
    if (b.kind === 'status') {
      res.writeHead(b.status).end();
      return;
    }
    if (b.kind === 'fail' && b.times > 0) {
      b.times--;
      res.writeHead(b.status).end();
      return;
    }
    if (b.kind === 'after') {
      this.behaviour.delete(path);
      await b.until();
    }
    const secret = this.secrets.get(path);
    if (!secret) {
      this.badSignatures.push({ path, error: 'no secret registered for this path' });
      res.writeHead(401).end();
      return;
    }
    try {
      const body = new Webhook(secret).verify(raw, {
        'webhook-id': id ?? '',
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      }) as ReceivedEvent['body'];
      const n = (this.seen.get(id!) ?? 0) + 1;
      this.seen.set(id!, n);
      if (n === 1) this.events.push({ path, id: id!, timestamp: String(req.headers['webhook-timestamp']), type: body.type, body, raw });
      res.writeHead(204).end();
    } catch (err) {
      this.badSignatures.push({ path, error: (err as Error).message });
      res.writeHead(401).end();
    }
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
