import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { expect } from 'vitest';
import { createPerson, type SourceRow } from '../../src/app/people.js';
import { createApiToken } from '../../src/app/tokens.js';
import { createHttpApp, type HttpAppOptions } from '../../src/http/app.js';
import { createMetrics, type MetricsRegistry } from '../../src/http/metrics.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import type { PipelineApi } from '../../src/http/pipeline-api.js';
import type { Integration } from '../../src/integrations/types.js';
import type { Logger } from '../../src/log.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { answerRecorder, documentChecker, type Answer } from '../helpers/openapi-check.js';

export const ADMIN = 'admin-token-for-http-tests-0123456789';

/** A PipelineApi that records what the API asked of it. */
export class RecordingPipeline implements PipelineApi {
  tests: string[] = [];
  redelivered: string[] = [];
  digestRuns = 0;
  async sendTestEvent(webhookId: string) {
    this.tests.push(webhookId);
    return { deliveryId: `test-${webhookId}` };
  }
  async redeliver(deliveryId: string) {
    this.redelivered.push(deliveryId);
  }
  async sendDigestsNow() {
    this.digestRuns++;
    return { sent: 0 };
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON when the body is JSON or problem+json. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience: bodies are asserted field by field
}

export interface Harness {
  t: TestContext;
  /** The express app under test (its routes, for the OpenAPI tests). */
  app: Express;
  base: string;
  metrics: MetricsRegistry;
  pipeline: PipelineApi;
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; raw?: RequestInit['body']; headers?: Record<string, string> }): Promise<Reply>;
  /** A person with an API token. */
  person(handle: string, opts?: { admin?: boolean }): Promise<{ row: SourceRow; token: string }>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: { env?: Record<string, string>; pipeline?: PipelineApi; integrations?: Integration[]; readiness?: HttpAppOptions['readiness']; log?: Logger } = {},
): Promise<Harness> {
  const t = await createTestContext({ ADMIN_TOKEN: ADMIN, WEBHOOK_ALLOW_PRIVATE: 'true', ...opts.env });
  if (opts.log) t.ctx.log = opts.log;
  const metrics = createMetrics();
  const pipeline = opts.pipeline ?? new RecordingPipeline();
  const app = createHttpApp(t.ctx, {
    integrations: opts.integrations ?? [],
    readiness: opts.readiness ?? (() => Promise.resolve()),
    metrics,
    pipeline,
  });
  // Every answer the app gives in this file is checked against its OpenAPI document when the harness closes.
  const answers: Answer[] = [];
  const record = answerRecorder((a) => answers.push(a));
  const server: Server = createServer((req, res) => {
    record(req, res);
    app(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call: Harness['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== null) headers.authorization ??= `Bearer ${o.token ?? ADMIN}`;
    let body: RequestInit['body'] = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    const ct = res.headers.get('content-type') ?? '';
    return { status: res.status, headers: res.headers, text, body: /json/.test(ct) && text ? JSON.parse(text) : undefined };
  };
  return {
    t,
    app,
    base,
    metrics,
    pipeline,
    call,
    async person(handle, p = {}) {
      const row = await createPerson(t.ctx, { handle, name: handle[0]!.toUpperCase() + handle.slice(1), email: `${handle}@corp.example`, isAdmin: p.admin });
      return { row, token: await createApiToken(t.ctx, row.id) };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.drop();
      // An answer the document does not describe fails the file: an undocumented status, media type or body shape.
      const checker = documentChecker(buildOpenApiDocument(app, { publicUrl: t.config.publicUrl, version: 'test' }) as never);
      const wrong = [...new Set(answers.map((a) => checker.check(a)).filter((m): m is string => m !== null))];
      if (wrong.length) throw new Error(`Answers that do not match the OpenAPI document:\n- ${wrong.join('\n- ')}`);
    },
  };
}

/** An RFC 9457 problem with this status and a human sentence. */
export function expectProblem(r: Reply, status: number, detail?: RegExp): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ status, type: expect.stringMatching(/\/problems\/[a-z_]+$/), title: expect.any(String) });
  // A sentence for a person, never a stack trace.
  expect(r.body.detail).toMatch(/^\S+( \S+){2,}/);
  expect(r.body.detail).not.toMatch(/\n\s+at /);
  if (detail) expect(r.body.detail).toMatch(detail);
}
