import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from '../helpers/wait.js';

/** One request the fake received: a Web API method call or a post to a response_url. */
export interface SlackCall {
  method: string;
  /** Form fields or JSON body; JSON-encoded form fields (blocks, view) are decoded. */
  params: Record<string, unknown>;
  /** From `Authorization: Bearer` or the `token` field. */
  token: string | undefined;
  at: number;
}

export interface SlackFakeUser {
  id: string;
  team_id?: string;
  name?: string;
  real_name?: string;
  tz?: string;
  is_bot?: boolean;
  deleted?: boolean;
  /** Slack sets it once the person confirmed the address; the fake says true for any user with an email unless told otherwise. */
  is_email_confirmed?: boolean;
  /** A Slack Connect user from another organisation. */
  is_stranger?: boolean;
  profile?: { email?: string; real_name?: string; display_name?: string };
}

type Failure = { kind: 'rate_limited'; retryAfter: number } | { kind: 'error'; error: string } | { kind: 'http'; status: number };

const JSON_FIELDS = new Set(['blocks', 'view', 'attachments', 'metadata']);

/**
 * A small real Slack Web API on 127.0.0.1. It speaks the protocol the SDK speaks (form or JSON bodies,
 * `{ ok: true, ... }` replies, 429 with Retry-After) for the methods Twitterprise calls, records every
 * call, and serves response_url posts at `/response/<id>`.
 */
export class FakeSlackApi {
  readonly calls: SlackCall[] = [];
  /** Bodies posted to response URLs, by id. */
  readonly responses: { id: string; body: Record<string, unknown>; at: number }[] = [];
  readonly users = new Map<string, SlackFakeUser>();
  /** What auth.test answers. */
  bot = { userId: 'UBOT', botId: 'BBOT', teamId: 'T1', team: 'Acme' };
  /** What oauth.v2.access answers (multi-workspace install). */
  oauthAccess: Record<string, unknown> | null = null;
  private readonly failures = new Map<string, { failure: Failure; times: number }[]>();
  private readonly delays = new Map<string, number>();
  private server: Server | undefined;
  private seq = 0;
  port = 0;

  /** The SLACK_API_URL to configure: `http://127.0.0.1:<port>/api/`. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/response/${encodeURIComponent(id)}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  addUser(u: SlackFakeUser): void {
    this.users.set(u.id, u);
  }

  /** The next `times` calls of `method` answer 429 with `Retry-After: retryAfter` seconds. */
  rateLimit(method: string, retryAfter: number, times = 1): void {
    this.push(method, { kind: 'rate_limited', retryAfter }, times);
  }

  /** The next `times` calls of `method` answer `{ ok: false, error }` (Infinity: until `clearFailures`). */
  fail(method: string, error: string, times = 1): void {
    this.push(method, { kind: 'error', error }, times);
  }

  /** The next `times` calls of `method` answer with a bare HTTP status. */
  httpError(method: string, status: number, times = 1): void {
    this.push(method, { kind: 'http', status }, times);
  }

  clearFailures(): void {
    this.failures.clear();
  }

  /** Every call of `method` is answered after `ms` (0 removes the delay): a slow Slack. */
  delay(method: string, ms: number): void {
    if (ms > 0) this.delays.set(method, ms);
    else this.delays.delete(method);
  }

  /**
   * Every string Slack would parse as mrkdwn in what the app sent: the `text` of every Web API call and
   * of every response_url post, and every mrkdwn text object in their blocks and views (plain_text is
   * never parsed, so it is left out). Security tests assert these are inert (docs/security.md, class 1).
   */
  parsedTexts(): { where: string; text: string }[] {
    const out: { where: string; text: string }[] = [];
    for (const c of this.calls) collectParsed(c.params, c.method, out);
    for (const r of this.responses) collectParsed(r.body, `response_url ${r.id}`, out);
    return out;
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  reset(): void {
    this.calls.length = 0;
    this.responses.length = 0;
    this.failures.clear();
    this.delays.clear();
  }

  /** Polls until `pick` returns something, or throws after `timeoutMs`. */
  waitFor<T>(pick: () => T | undefined | null | false, timeoutMs = 5000, what = 'a Slack call'): Promise<NonNullable<T>> {
    return waitUntil(pick, what, { timeoutMs, everyMs: 10 });
  }

  waitForCall(method: string, match: (c: SlackCall) => boolean = () => true, timeoutMs = 5000): Promise<SlackCall> {
    return this.waitFor(() => this.calls.find((c) => c.method === method && match(c)), timeoutMs, `a ${method} call`);
  }

  waitForResponse(id: string, timeoutMs = 5000): Promise<{ id: string; body: Record<string, unknown> }> {
    return this.waitFor(() => this.responses.find((r) => r.id === id), timeoutMs, `a post to response_url ${id}`);
  }

  private push(method: string, failure: Failure, times: number): void {
    const list = this.failures.get(method) ?? [];
    list.push({ failure, times });
    this.failures.set(method, list);
  }

  private takeFailure(method: string): Failure | undefined {
    const list = this.failures.get(method);
    const head = list?.[0];
    if (!list || !head) return undefined;
    head.times -= 1;
    if (head.times <= 0) list.shift();
    return head.failure;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    const params = parseBody(raw, req.headers['content-type']);
    if (req.method === 'POST' && url.pathname.startsWith('/response/')) {
      this.responses.push({ id: decodeURIComponent(url.pathname.slice('/response/'.length)), body: params, at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST' || !url.pathname.startsWith('/api/')) {
      res.writeHead(404).end();
      return;
    }
    const method = url.pathname.slice('/api/'.length);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : typeof params.token === 'string' ? params.token : undefined;
    this.calls.push({ method, params, token, at: Date.now() });
    const delay = this.delays.get(method);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const failure = this.takeFailure(method);
    if (failure?.kind === 'rate_limited') {
      res.writeHead(429, { 'retry-after': String(failure.retryAfter), 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    if (failure?.kind === 'http') {
      res.writeHead(failure.status, { 'content-type': 'text/plain' }).end('fake failure');
      return;
    }
    const body = failure?.kind === 'error' ? { ok: false, error: failure.error } : this.answer(method, params, token);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  }

  private nextTs(): string {
    this.seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`;
  }

  private answer(method: string, p: Record<string, unknown>, token: string | undefined): Record<string, unknown> {
    if (!token && method !== 'oauth.v2.access') return { ok: false, error: 'not_authed' };
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://acme.slack.com/', team: this.bot.team, user: 'twitterprise', team_id: this.bot.teamId, user_id: this.bot.userId, bot_id: this.bot.botId };
      case 'users.info': {
        const u = this.users.get(String(p.user));
        return u ? { ok: true, user: { team_id: this.bot.teamId, is_email_confirmed: !!u.profile?.email, ...u } } : { ok: false, error: 'user_not_found' };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(p.users).replace(/^U/, '')}` } };
      case 'chat.postMessage': {
        const ts = this.nextTs();
        return { ok: true, channel: p.channel, ts, message: { type: 'message', text: p.text, ts, bot_id: this.bot.botId } };
      }
      case 'chat.update':
        return { ok: true, channel: p.channel, ts: p.ts, text: p.text };
      case 'chat.delete':
        return { ok: true, channel: p.channel, ts: p.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'views.publish':
        return { ok: true, view: { id: 'V1', type: 'home', ...(typeof p.view === 'object' ? p.view : {}) } };
      case 'oauth.v2.access':
        return this.oauthAccess ?? { ok: false, error: 'invalid_code' };
      default:
        return { ok: true };
    }
  }
}

/** The mrkdwn-parsed strings of one payload: its top-level `text` and mrkdwn text objects anywhere inside. */
export function collectParsed(payload: unknown, where: string, out: { where: string; text: string }[] = []): { where: string; text: string }[] {
  if (!payload || typeof payload !== 'object') return out;
  const p = payload as Record<string, unknown>;
  if (typeof p.text === 'string') out.push({ where: `${where} text`, text: p.text });
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`));
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push({ where: path, text: o.text });
    for (const [k, x] of Object.entries(o)) if (typeof x === 'object') walk(x, `${path}.${k}`);
  };
  for (const k of ['blocks', 'view', 'attachments']) walk(p[k], `${where} ${k}`);
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if (JSON_FIELDS.has(k)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // not JSON: keep the string
      }
    }
    out[k] = v;
  }
  return out;
}

export async function startFakeSlackApi(): Promise<FakeSlackApi> {
  return new FakeSlackApi().start();
}
