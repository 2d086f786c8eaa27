import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPerson, requireSource } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { createApiToken, createHookUrl } from '../../src/app/tokens.js';
import { newId } from '../../src/core/ids.js';
import { deliveries, sources } from '../../src/db/schema.js';
import { createHttpApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/http/metrics.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { webhookDestinationCheck } from '../../src/http/webhook-destination.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { documentChecker, type DocumentChecker } from '../helpers/openapi-check.js';
import { RecordingPipeline } from '../http/harness.js';
import { encode, Fuzz } from './hostile-input.js';

/**
 * Thousands of random and hostile requests against every API endpoint: each must be answered with a
 * 2xx or a clear 4xx problem+json, never a 500, and the process must be unharmed afterwards.
 */

const ADMIN = 'admin-token-for-fuzz-tests-0123456789';
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

let t: TestContext;
let server: Server;
let base: string;
let ids: { webhook: string; follow: string; status: string; delivery: string; hook: string };
let tokens: string[];
/** Every answer must also be one the OpenAPI document describes (its status, media type and body). */
let checker: DocumentChecker;
const errorLog: string[] = [];

beforeAll(async () => {
  t = await createTestContext({ ADMIN_TOKEN: ADMIN, WEBHOOK_ALLOW_PRIVATE: 'false' });
  // Unexpected errors are logged by the error handler; keep them to name the cause of a 500.
  t.ctx.log = pino({ level: 'error' }, { write: (line: string) => void errorLog.push(line) });
  // Host names in fuzzed webhook URLs are never looked up: a name resolves to nothing (refused).
  const app = createHttpApp(t.ctx, {
    integrations: [],
    readiness: () => Promise.resolve(),
    metrics: createMetrics(),
    pipeline: new RecordingPipeline(),
    checkWebhookDestination: webhookDestinationCheck(t.config, async () => []),
  });
  checker = documentChecker(buildOpenApiDocument(app, { publicUrl: t.config.publicUrl, version: 'fuzz' }) as never);
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const alice = await createPerson(t.ctx, { handle: 'alice', name: 'Alice', email: 'alice@corp.example' });
  const bob = await createPerson(t.ctx, { handle: 'bob', name: 'Bob', email: 'bob@corp.example' });
  await createService(t.ctx, { handle: 'build', name: 'Build', owners: ['alice'] });
  await createService(t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['alice'] });
  const build = await requireSource(t.ctx, 'build');
  const aliceToken = await createApiToken(t.ctx, alice.id);
  tokens = [aliceToken, await createApiToken(t.ctx, bob.id), await createApiToken(t.ctx, build.id), ADMIN];

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await r.json()) as { id: string };
  };
  const w = await call('POST', '/api/v1/webhooks', aliceToken, { url: 'http://93.184.215.14/hook' });
  const f = await call('POST', '/api/v1/follows', aliceToken, { target: '@bob' });
  const s = await call('POST', '/api/v1/statuses', aliceToken, { text: 'seed' });
  const delivery = newId();
  await t.database.db.insert(deliveries).values({ id: delivery, event: 'status.created', statusId: s.id, subscriberKind: 'webhook', subscriberId: w.id, route: 'webhook', state: 'failed', dedupeKey: delivery });
  const hookUrl = await createHookUrl(t.ctx, build);
  ids = { webhook: w.id, follow: f.id, status: s.id, delivery, hook: hookUrl.split('/hooks/')[1]! };
  expect(Object.values(ids).every((x) => typeof x === 'string' && x.length > 0)).toBe(true);
});

afterAll(async () => {
  server?.closeAllConnections();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await t?.drop();
});

type Target = { method: string; path: (f: Fuzz, id: (kind: keyof typeof ids) => string) => string; fields: string[] };

const TARGETS: Target[] = [
  { method: 'POST', path: () => '/api/v1/statuses', fields: ['text', 'as'] },
  { method: 'GET', path: (f, id) => `/api/v1/statuses/${id('status')}`, fields: [] },
  { method: 'DELETE', path: (f, id) => `/api/v1/statuses/${id('status')}`, fields: [] },
  { method: 'GET', path: (f) => `/api/v1/sources/${f.chance(0.5) ? f.pick(['alice', 'build', 'payroll']) : f.segment()}/statuses${f.query()}`, fields: [] },
  { method: 'GET', path: (f) => `/api/v1/timeline${f.query()}`, fields: [] },
  { method: 'POST', path: () => '/api/v1/follows', fields: ['target', 'route', 'webhook', 'filters'] },
  { method: 'GET', path: (f) => `/api/v1/follows${f.query()}`, fields: [] },
  { method: 'DELETE', path: (f, id) => `/api/v1/follows/${id('follow')}`, fields: [] },
  { method: 'GET', path: (f) => `/api/v1/follow-requests${f.query()}`, fields: [] },
  { method: 'POST', path: (f, id) => `/api/v1/follows/${id('follow')}/${f.pick(['approve', 'deny'])}`, fields: [] },
  { method: 'POST', path: () => '/api/v1/webhooks', fields: ['url', 'description', 'filter'] },
  { method: 'GET', path: () => '/api/v1/webhooks', fields: [] },
  { method: 'GET', path: (f, id) => `/api/v1/webhooks/${id('webhook')}`, fields: [] },
  { method: 'PATCH', path: (f, id) => `/api/v1/webhooks/${id('webhook')}`, fields: ['url', 'description', 'filter', 'enabled'] },
  { method: 'GET', path: (f, id) => `/api/v1/webhooks/${id('webhook')}/deliveries${f.query()}`, fields: [] },
  { method: 'POST', path: (f, id) => `/api/v1/webhooks/${id('webhook')}/test`, fields: [] },
  { method: 'POST', path: (f, id) => `/api/v1/deliveries/${id('delivery')}/redeliver`, fields: [] },
  { method: 'GET', path: (f) => `/api/v1/deliveries${f.query()}`, fields: [] },
  { method: 'POST', path: () => '/api/v1/people', fields: ['handle', 'name', 'email', 'timezone'] },
  { method: 'POST', path: () => '/api/v1/services', fields: ['handle', 'name', 'visibility', 'owners'] },
  { method: 'PATCH', path: (f) => `/api/v1/services/${f.chance(0.5) ? 'build' : f.segment()}`, fields: ['name', 'visibility', 'owners'] },
  { method: 'POST', path: () => '/api/v1/tokens', fields: ['subject', 'expires_at'] },
  { method: 'POST', path: (f) => `/api/v1/services/${f.chance(0.5) ? 'build' : f.segment()}/hooks`, fields: [] },
  { method: 'GET', path: (f) => `/api/v1/audit${f.query()}`, fields: [] },
  { method: 'POST', path: (f, id) => `/hooks/${id('hook')}`, fields: ['text'] },
  // The public status page a status's url points at (no token needed, so the fuzzer's token is ignored).
  { method: 'GET', path: (f, id) => `/statuses/${id('status')}${f.query()}`, fields: [] },
  { method: 'GET', path: (f) => `/feeds/${f.chance(0.5) ? f.pick(['alice', 'build', 'payroll']) : f.segment()}.${f.pick(['atom', 'rss', 'json', 'xml', ''])}${f.query()}`, fields: [] },
  { method: 'GET', path: (f) => `/${f.segment()}/${f.segment()}`, fields: [] },
];

interface Outcome {
  method: string;
  path: string;
  status: number;
  problem: boolean;
}

describe('fuzzing the HTTP API', () => {
  it(`${REQUESTS} random and hostile requests: 2xx or a 4xx problem, never a 500`, async () => {
    console.log(`fuzz-api seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const f = new Fuzz(SEED);
    const id = (kind: keyof typeof ids) => (f.chance(0.6) ? ids[kind] : f.segment());
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    const started = Date.now();
    let sent = 0;

    async function one(): Promise<Outcome> {
      const target = f.pick(TARGETS);
      const path = target.path(f, id);
      const headers: Record<string, string> = {};
      const cred = f.int(10);
      if (cred < 8) headers.authorization = `Bearer ${f.pick(tokens)}`;
      else if (cred === 8) headers.authorization = `Bearer ${encode(f.string().slice(0, 100))}`;
      if (f.chance(0.1)) headers['idempotency-key'] = encode(f.string().slice(0, 300)) || 'k';
      let body: string | undefined;
      if (target.method !== 'GET' && target.method !== 'DELETE' && (target.fields.length || f.chance(0.3))) {
        const b = f.body(target.fields);
        body = b.raw;
        if (b.contentType) headers['content-type'] = b.contentType;
      }
      const res = await fetch(base + path, { method: target.method, headers, body, signal: AbortSignal.timeout(15_000) });
      const text = await res.text();
      const ct = res.headers.get('content-type') ?? '';
      const where = `${target.method} ${path.slice(0, 120)} body=${JSON.stringify(body?.slice(0, 120))}`;
      const undocumented = checker.check({ method: target.method, url: path, status: res.status, contentType: res.headers.get('content-type'), body: text });
      if (undocumented) failures.push(`not as documented: ${undocumented}; ${where}`);
      if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400)) failures.push(`${res.status} ${where}: ${text.slice(0, 300)}`);
      let problem = false;
      if (res.status >= 400) {
        problem = ct.startsWith('application/problem+json');
        if (!problem) failures.push(`${res.status} without problem+json (${ct}) ${where}`);
        else {
          const p = JSON.parse(text) as { status?: unknown; detail?: unknown; title?: unknown; type?: unknown };
          const ok = p.status === res.status && typeof p.detail === 'string' && p.detail.length > 0 && typeof p.title === 'string' && typeof p.type === 'string';
          if (!ok) failures.push(`malformed problem ${where}: ${text.slice(0, 300)}`);
          else if (/\n\s+at |node_modules|\/src\//.test(p.detail as string)) failures.push(`stack or path in detail ${where}: ${p.detail as string}`);
          else if ((p.detail as string).length > 2000) failures.push(`detail of ${(p.detail as string).length} characters ${where}`);
        }
      }
      return { method: target.method, path, status: res.status, problem };
    }

    const workers = Array.from({ length: 8 }, async () => {
      while (sent < REQUESTS && Date.now() - started < 60_000) {
        sent++;
        const o = await one();
        byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
      }
    });
    await Promise.all(workers);
    console.log(`fuzz-api: ${sent} requests in ${Date.now() - started} ms; by status ${JSON.stringify(Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])))}`);
    const causes = new Map<string, number>();
    for (const line of errorLog) {
      const e = (JSON.parse(line) as { err?: { type?: string; message?: string; code?: string; cause?: { code?: string; message?: string } } }).err;
      const key = `${e?.type}: ${e?.code ?? ''} ${(e?.message ?? '').slice(0, 60)} ${e?.cause ? `(cause ${e.cause.code}: ${e.cause.message})` : ''}`;
      causes.set(key, (causes.get(key) ?? 0) + 1);
    }
    if (causes.size) console.log('causes of 500s:', causes);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(Math.min(REQUESTS, 1000));
    // Hostile input was refused, and some valid input got through: the fuzzer reached the handlers.
    expect([...byStatus.keys()].some((s) => s === 400)).toBe(true);
    expect([...byStatus.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    // The loop stops after 60 s on a slow machine; the test may take that long.
  }, 120_000);

  it('inputs that once answered 500 now answer a 4xx problem (or succeed)', async () => {
    const raw = (method: string, path: string, body?: string) =>
      fetch(base + path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) });
    const cases: [string, string, string?][] = [
      ['GET', '/api/v1/webhooks/%zz'],
      ['GET', '/feeds/%ff%fe.atom'],
      ['GET', `/api/v1/webhooks/${'%00'}`],
      ['GET', '/api/v1/follows?before=a%00'],
      ['PATCH', `/api/v1/webhooks/${ids.webhook}`, '{"description":"x\\u0000"}'],
      ['POST', '/api/v1/people', '{"name":"x\\u0000","email":"nul@corp.example"}'],
      ['PATCH', '/api/v1/services/build', '{}'],
      ['PATCH', '/api/v1/services/build', '{"owners":["alice"]}'],
      // A lone surrogate (valid JSON escape, not valid Unicode) inside a URL entity stored as jsonb.
      ['POST', '/api/v1/statuses', '{"text":"see http://x.example/\\ud921 now","as":"alice"}'],
      ['POST', '/api/v1/statuses', '{"text":"#tag\\udfff and @alice\\ud800","as":"alice"}'],
      // Year 0 is a valid ISO 8601 string but outside PostgreSQL's timestamptz range.
      ['GET', '/api/v1/audit?since=0000-01-01T00:00:00Z'],
      ['POST', '/api/v1/tokens', '{"subject":"@alice","expires_at":"9999-12-31T23:59:59Z"}'],
    ];
    const bad: string[] = [];
    for (const [method, path, body] of cases) {
      const r = await raw(method, path, body);
      const text = await r.text();
      const problem = (r.headers.get('content-type') ?? '').startsWith('application/problem+json');
      if (r.status >= 500 || (r.status >= 400 && !problem)) bad.push(`${method} ${path} ${body ?? ''} -> ${r.status} ${text.slice(0, 200)}`);
    }
    expect(bad).toEqual([]);
  });

  it('the process is unharmed: no prototype pollution, nobody became an admin, and it still serves', async () => {
    expect(Object.keys(Object.prototype)).toEqual([]);
    const probe = {} as Record<string, unknown>;
    expect(probe.isAdmin).toBeUndefined();
    expect(probe.polluted).toBeUndefined();
    const admins = await t.database.db.select().from(sources).where(eq(sources.isAdmin, true));
    expect(admins).toEqual([]);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const post = await fetch(`${base}/api/v1/statuses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[0]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'still standing #ok' }),
    });
    expect(post.status).toBe(201);
    expect(((await post.json()) as { text: string }).text).toBe('still standing #ok');
  });
});
