import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from '../helpers/wait.js';

/**
 * A fake Bot Framework Connector (the REST service behind `activity.serviceUrl`) on 127.0.0.1.
 * It speaks the paths botbuilder's ConnectorClient and TeamsInfo call, records every request,
 * and can be told to fail the next matching requests (429 with Retry-After, 403, 404, 5xx).
 */

export interface RecordedRequest {
  method: string;
  /** Decoded path without the query, e.g. `/v3/conversations/a:1/activities`. */
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** The status the fake answered. */
  status: number;
}

export interface FakeMember {
  /** The Bot Framework user id (`29:...`). */
  id: string;
  aadObjectId: string;
  name: string;
  email?: string;
  userPrincipalName?: string;
  tenantId?: string;
  givenName?: string;
  surname?: string;
  userRole?: string;
}

export interface SentActivity {
  conversationId: string;
  activityId: string;
  replyToId?: string;
  activity: Record<string, unknown>;
  deleted: boolean;
  updates: Record<string, unknown>[];
}

export interface CreatedConversation {
  id: string;
  parameters: Record<string, unknown>;
}

interface FailureRule {
  method?: string;
  path?: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  times: number;
}

const ERROR_CODES: Record<number, string> = {
  400: 'BadArgument',
  403: 'BotNotInConversationRoster',
  404: 'ConversationNotFound',
  412: 'PreconditionFailed',
  429: 'Throttled',
  500: 'ServiceError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

export class FakeBotConnector {
  readonly requests: RecordedRequest[] = [];
  readonly sent: SentActivity[] = [];
  readonly conversations: CreatedConversation[] = [];
  private readonly members = new Map<string, FakeMember>();
  private readonly teams = new Map<string, { id: string; name: string; aadGroupId: string; channels: { id: string; name?: string }[] }>();
  private readonly rules: FailureRule[] = [];
  private seq = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeBotConnector> {
    const holder: { fake?: FakeBotConnector } = {};
    const server = createServer((req, res) => {
      holder.fake!.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    holder.fake = new FakeBotConnector(server, (server.address() as AddressInfo).port);
    return holder.fake;
  }

  /** What inbound activities carry as `serviceUrl` (Teams keeps the trailing slash). */
  get serviceUrl(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  addMember(m: FakeMember): FakeMember {
    this.members.set(m.id, m);
    return m;
  }

  addTeam(t: { id: string; name: string; aadGroupId?: string; channels?: { id: string; name?: string }[] }): void {
    this.teams.set(t.id, { aadGroupId: randomUUID(), channels: [{ id: t.id, name: 'General' }], ...t });
  }

  /** The next `times` requests matching method/path are answered with this status instead. */
  failNext(rule: { method?: string; path?: RegExp; status: number; headers?: Record<string, string>; body?: unknown; times?: number }): void {
    this.rules.push({ ...rule, times: rule.times ?? 1 });
  }

  /** Messages the bot posted (not deleted), optionally in one conversation. */
  messages(conversationId?: string): SentActivity[] {
    return this.sent.filter((s) => !s.deleted && (conversationId === undefined || s.conversationId === conversationId));
  }

  /** Polls until `pick` returns something truthy; fails after `timeoutMs`. */
  waitFor<T>(pick: () => T | undefined | null | false, timeoutMs = 5_000, what = 'a connector call'): Promise<NonNullable<T>> {
    return waitUntil(pick, what, timeoutMs);
  }

  reset(): void {
    this.requests.length = 0;
    this.sent.length = 0;
    this.conversations.length = 0;
    this.rules.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}${Date.now().toString(36)}${this.seq}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const path = `/${segments.join('/')}`;
    const method = req.method ?? 'GET';
    const record: RecordedRequest = { method, path, headers: req.headers, body, status: 0 };
    this.requests.push(record);

    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { ...(payload !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
      res.end(payload !== undefined ? JSON.stringify(payload) : undefined);
    };
    const error = (status: number, message: string, code = ERROR_CODES[status] ?? 'Error', headers?: Record<string, string>) =>
      send(status, { error: { code, message } }, headers);

    const rule = this.rules.find((r) => r.times > 0 && (!r.method || r.method === method) && (!r.path || r.path.test(path)));
    if (rule) {
      rule.times -= 1;
      if (rule.body !== undefined) return send(rule.status, rule.body, rule.headers);
      return error(rule.status, `fake connector: injected ${rule.status}`, undefined, rule.headers);
    }

    const [v3, kind, id, sub, subId, extra] = segments;
    if (v3 !== 'v3') return error(404, `no route ${method} ${path}`);

    if (kind === 'conversations' && id === undefined && method === 'POST') {
      const params = (body ?? {}) as Record<string, unknown>;
      const conversationId = params.isGroup ? this.nextId('19:conv') : this.nextId('a:personal');
      this.conversations.push({ id: conversationId, parameters: params });
      let activityId: string | undefined;
      if (params.activity && typeof params.activity === 'object') {
        activityId = this.nextId('act');
        this.sent.push({ conversationId, activityId, activity: params.activity as Record<string, unknown>, deleted: false, updates: [] });
      }
      return send(201, { id: conversationId, serviceUrl: this.serviceUrl, ...(activityId ? { activityId } : {}) });
    }

    if (kind === 'conversations' && id !== undefined) {
      if (sub === 'activities' && method === 'POST' && extra === undefined) {
        const activityId = this.nextId('act');
        this.sent.push({ conversationId: id, activityId, replyToId: subId, activity: (body ?? {}) as Record<string, unknown>, deleted: false, updates: [] });
        return send(201, { id: activityId });
      }
      if (sub === 'activities' && subId !== undefined && (method === 'PUT' || method === 'DELETE')) {
        const found = this.sent.find((s) => s.conversationId === id && s.activityId === subId && !s.deleted);
        if (!found) return error(404, 'The message does not exist.', 'NotFound');
        if (method === 'DELETE') {
          found.deleted = true;
          return send(200);
        }
        found.updates.push((body ?? {}) as Record<string, unknown>);
        return send(200, { id: subId });
      }
      if (sub === 'members' && method === 'GET') {
        if (subId === undefined) return send(200, [...this.members.values()].map(toAccount));
        const m = this.members.get(subId) ?? [...this.members.values()].find((x) => x.aadObjectId === subId);
        if (!m) return error(404, 'The member was not found in the conversation.', 'MemberNotFoundInConversation');
        return send(200, toAccount(m));
      }
      if (sub === 'pagedmembers' && method === 'GET') {
        return send(200, { members: [...this.members.values()].map(toAccount) });
      }
    }

    if (kind === 'teams' && id !== undefined && method === 'GET') {
      const team = this.teams.get(id);
      if (!team) return error(404, 'The team was not found.', 'NotFound');
      if (sub === undefined) return send(200, { id: team.id, name: team.name, aadGroupId: team.aadGroupId });
      if (sub === 'conversations') return send(200, { conversations: team.channels });
    }

    return error(404, `no route ${method} ${path}`);
  }
}

function toAccount(m: FakeMember) {
  const [givenName, ...rest] = m.name.split(' ');
  return {
    id: m.id,
    name: m.name,
    aadObjectId: m.aadObjectId,
    email: m.email,
    userPrincipalName: m.userPrincipalName ?? m.email,
    givenName: m.givenName ?? givenName,
    surname: m.surname ?? rest.join(' '),
    tenantId: m.tenantId,
    userRole: m.userRole ?? 'user',
  };
}
