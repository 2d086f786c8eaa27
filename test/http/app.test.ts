import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSource } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { createHookUrl } from '../../src/app/tokens.js';
import { ADMIN, expectProblem, startHarness, type Harness } from './harness.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    cb();
  },
});

const SECRET = 'integration-signing-secret';
const sign = (raw: string) => createHmac('sha256', SECRET).update(raw).digest('hex');

/** Reads the raw body and checks an HMAC over it, like Bolt does: it must see the bytes untouched. */
const rawBodyIntegration = {
  name: 'raw',
  mount(app: express.Express) {
    app.post('/raw/events', express.raw({ type: () => true, limit: '64kb' }), (req, res) => {
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      if (req.headers['x-signature'] !== sign(raw)) {
        res.status(401).send('bad signature');
        return;
      }
      res.json({ ok: true, bytes: Buffer.byteLength(raw) });
    });
    app.get('/raw/boom', () => {
      throw new Error('secret internal detail at /srv/app.ts:12');
    });
  },
};

let ready = true;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    integrations: [rawBodyIntegration],
    readiness: async () => {
      if (!ready) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    },
    log: pino({ level: 'info' }, sink),
  });
});
afterAll(() => h?.close());

describe('health, readiness, metrics', () => {
  it('GET /healthz answers 200', async () => {
    const r = await h.call('GET', '/healthz', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when dependencies answer, else 503 problem', async () => {
    expect((await h.call('GET', '/readyz', { token: null })).status).toBe(200);
    ready = false;
    try {
      const r = await h.call('GET', '/readyz', { token: null });
      expectProblem(r, 503, /database or Redis/);
      expect(r.text).not.toContain('6379');
    } finally {
      ready = true;
    }
    expect((await h.call('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('GET /metrics is Prometheus text with default and app metrics, labelled by route pattern', async () => {
    await h.call('GET', '/api/v1/statuses/abc', { token: ADMIN });
    const r = await h.call('GET', '/metrics', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(r.text).toContain('# TYPE statuses_accepted_total counter');
    expect(r.text).toContain('# TYPE deliveries_total counter');
    expect(r.text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/statuses\/:id",status="404"\} 1/);
    h.metrics.deliveries.inc({ route: 'webhook', state: 'sent' });
    expect((await h.call('GET', '/metrics', { token: null })).text).toMatch(/deliveries_total\{route="webhook",state="sent"\} 1/);
  });
});

describe('errors', () => {
  it('an unknown route is a 404 problem; the type URL documents the problem', async () => {
    const r = await h.call('GET', '/nothing/here', { token: null });
    expectProblem(r, 404, /There is no GET \/nothing\/here endpoint/);
    expect(r.body.type).toBe(`${h.t.config.publicUrl}/problems/not_found`);
    expect(r.headers.get('x-powered-by')).toBeNull();
    const doc = await h.call('GET', '/problems/too_large', { token: null });
    expect(doc.status).toBe(200);
    expect(doc.text).toMatch(/64 KiB/);
  });

  it('an unexpected error is a 500 with a generic sentence, logged, and no stack trace', async () => {
    const r = await h.call('GET', '/raw/boom', { token: null });
    expectProblem(r, 500, /Something went wrong on our side/);
    expect(r.text).not.toContain('secret internal detail');
    expect(r.text).not.toContain('/srv/app.ts');
    expect(lines.some((l) => l.includes('unexpected error') && l.includes('secret internal detail'))).toBe(true);
  });

  it('malformed %-escapes, NUL characters and empty patches are 400 problems, not 500s', async () => {
    expectProblem(await h.call('GET', '/api/v1/statuses/%zz', { token: ADMIN }), 400, /malformed %-escape/);
    expectProblem(await h.call('DELETE', '/api/v1/follows/%ff%fe', { token: ADMIN }), 400, /malformed %-escape/);
    expectProblem(await h.call('GET', '/feeds/%.atom', { token: null }), 400, /malformed %-escape/);
    expectProblem(await h.call('GET', '/api/v1/statuses/a%00b', { token: ADMIN }), 400, /NUL/);
    expectProblem(await h.call('GET', '/api/v1/timeline?before=%00', { token: ADMIN }), 400, /NUL/);
    await createService(h.t.ctx, { handle: 'nul-test', name: 'Nul' });
    expectProblem(await h.call('POST', '/api/v1/statuses', { token: ADMIN, body: { text: 'a\u0000b', as: 'nul-test' } }), 400, /Field "text" may not contain NUL characters/);
    expectProblem(await h.call('POST', '/api/v1/follows', { token: ADMIN, body: { target: '#x', filters: ['-a', '-b\u0000'] } }), 400, /Field "filters\[1\]" may not contain NUL/);
    const hook = await createHookUrl(h.t.ctx, await requireSource(h.t.ctx, 'nul-test'));
    const r = await fetch(`${h.base}/hooks/${hook.split('/hooks/')[1]}`, { method: 'POST', body: 'x\u0000y', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(400);
    expectProblem(await h.call('PATCH', '/api/v1/services/nul-test', { token: ADMIN, body: {} }), 400, /Nothing to change/);
  });

  it('503 when the database is down', async () => {
    const down = await startHarness();
    try {
      const p = await down.person('dora');
      await down.t.database.close();
      const r = await down.call('GET', '/api/v1/timeline', { token: p.token });
      expectProblem(r, 503, /database or queue/);
    } finally {
      await down.close();
    }
  });
});

describe('integrations and body limits', () => {
  it('integrations see the raw body untouched (no global parser) and are mounted before the 404 handler', async () => {
    const raw = '{"type":"event_callback",  "spaces": "kept" }';
    const r = await h.call('POST', '/raw/events', { token: null, raw, headers: { 'content-type': 'application/json', 'x-signature': sign(raw) } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true, bytes: raw.length });
  });

  it('413 problem on every endpoint for a declared body over 64 KiB, integrations included', async () => {
    const big = 'x'.repeat(64 * 1024 + 1);
    const targets: [string, string][] = [
      ['POST', '/raw/events'],
      ['POST', '/api/v1/statuses'],
      ['POST', '/hooks/th_whatever'],
      ['PUT', '/healthz'],
      ['DELETE', '/api/v1/statuses/abc'],
      ['POST', '/nothing/here'],
    ];
    for (const [method, path] of targets) {
      const r = await h.call(method, path, { token: null, raw: big, headers: { 'content-type': 'application/json', 'x-signature': sign(big) } });
      expectProblem(r, 413, /64 KiB/);
    }
    // Exactly 64 KiB is allowed.
    const edge = 'y'.repeat(64 * 1024);
    const ok = await h.call('POST', '/raw/events', { token: null, raw: edge, headers: { 'content-type': 'text/plain', 'x-signature': sign(edge) } });
    expect(ok.status).toBe(200);
  });
});

describe('request log', () => {
  it('logs method, route pattern and status, never bodies or tokens', async () => {
    await createService(h.t.ctx, { handle: 'build', name: 'Build' });
    const hook = await createHookUrl(h.t.ctx, await requireSource(h.t.ctx, 'build'));
    const secret = hook.split('/hooks/')[1]!;
    await fetch(`${h.base}/hooks/${secret}`, { method: 'POST', body: 'hook body text', headers: { 'content-type': 'text/plain' } });
    await fetch(`${h.base}/feeds/build.atom?token=${ADMIN}`);
    await h.call('POST', '/api/v1/statuses', { token: ADMIN, body: { text: 'api body text', as: 'build' } });
    const text = lines.join('\n');
    expect(text).toContain('"route":"/hooks/:token"');
    expect(text).toContain('"route":"/feeds/:handle.atom"');
    expect(text).toMatch(/"method":"POST","route":"\/api\/v1\/statuses","status":201/);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(ADMIN);
    expect(text).not.toContain('hook body text');
    expect(text).not.toContain('api body text');
  });
});
