import { pino } from 'pino';
import { parseConfig } from '../../src/config.js';
import { startApp, type RunningApp, type StartOptions } from '../../src/main.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix, type TestDatabase } from '../helpers/db.js';
import { documentChecker, type DocumentChecker } from '../helpers/openapi-check.js';
import { dropPrefix } from '../helpers/queues.js';
import { waitUntil } from '../helpers/wait.js';

export const ADMIN = 'e2e-admin-token-0123456789';

export interface E2E {
  app: RunningApp;
  database: TestDatabase;
  url: string;
  /** JSON call to the API; returns status, headers and parsed body. */
  call<T = Record<string, unknown>>(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

/** The whole app (web + worker in one process) on a fresh database, Redis prefix and a free port. */
export async function startE2E(env: Record<string, string> = {}, opts: Partial<Pick<StartOptions, 'clock' | 'slack' | 'xmpp'>> = {}): Promise<E2E> {
  const database = await createTestDatabase();
  const prefix = env.QUEUE_PREFIX ?? testQueuePrefix();
  const config = parseConfig({
    DATABASE_URL: database.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    PORT: '0',
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_DELAYS: '0.05,0.05',
    OUTBOX_DIR: `${process.env.TMPDIR ?? '/tmp'}/tp-e2e-outbox`,
    ...env,
  });
  const app = await startApp({ config, role: 'all', log: pino({ level: 'silent' }), ...opts });
  // PUBLIC_URL is only known now that the port is: links in tests are not followed, so the default is fine.
  const url = app.url!;
  // Every answer to call() is checked against the OpenAPI document the app serves (status, media type, JSON schema).
  let checker: DocumentChecker | undefined;
  const check = async (method: string, path: string, status: number, contentType: string | null, text: string) => {
    checker ??= documentChecker((await (await fetch(`${url}/api/v1/openapi.json`)).json()) as never);
    const wrong = checker.check({ method, url: path, status, contentType, body: text });
    if (wrong) throw new Error(`The answer does not match the OpenAPI document: ${wrong}`);
  };
  return {
    app,
    database,
    url,
    async call(method, path, o = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...o.headers,
        },
        ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      });
      const text = await res.text();
      await check(method, path, res.status, res.headers.get('content-type'), text);
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: body as never, headers: res.headers };
    },
    async close() {
      await app.close();
      await database.drop();
      await dropPrefix(prefix);
    },
  };
}

/** Polls until `probe` returns something truthy (10 s). */
export const eventually = waitUntil;

/** An admin-made person with an API token. */
export async function person(e: E2E, handle: string): Promise<{ handle: string; token: string }> {
  const p = await e.call('POST', '/api/v1/people', { token: ADMIN, body: { handle, name: handle[0]!.toUpperCase() + handle.slice(1), email: `${handle}@corp.example` } });
  if (p.status !== 201) throw new Error(`person ${handle}: ${p.status} ${JSON.stringify(p.body)}`);
  const t = await e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: `@${handle}` } });
  return { handle, token: t.body.token };
}
