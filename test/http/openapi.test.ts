import { Validator } from '@seriousme/openapi-schema-validator';
import express, { Router } from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appRoutes, isDocumentedPath, openApiPath } from '../../src/http/openapi.js';
import { route } from '../../src/http/route.js';
import { axeProblems, launchBrowser, overflow, watchConsole } from '../console/browser.js';
import { documentChecker } from '../helpers/openapi-check.js';
import { startHarness, type Harness } from './harness.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document is asserted field by field
type Doc = any;

let h: Harness;
let doc: Doc;

beforeAll(async () => {
  h = await startHarness();
  const r = await h.call('GET', '/api/v1/openapi.json', { token: null });
  expect(r.status, r.text).toBe(200);
  doc = r.body;
});
afterAll(async () => {
  await h.close();
});

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
const operations = (d: Doc) =>
  Object.entries(d.paths as Record<string, Record<string, Doc>>).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m] })));

describe('GET /api/v1/openapi.json', () => {
  it('needs no token and is a valid OpenAPI 3.1 document', async () => {
    const r = await h.call('GET', '/api/v1/openapi.json', { token: null });
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body.openapi).toBe('3.1.0');
    const result = await new Validator().validate(r.body);
    expect(result.errors ?? [], String(JSON.stringify(result.errors)).slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route the app has under /api/v1, /hooks, /feeds and /statuses, and nothing else', () => {
    const routes = appRoutes(h.app).filter((r) => isDocumentedPath(r.path));
    const undocumented = routes.filter((r) => !r.spec).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(undocumented, `declare these with route() (docs/api.md): ${undocumented.join(', ')}`).toEqual([]);
    const inApp = new Set(routes.map((r) => `${r.method} ${openApiPath(r.path)}`));
    const inDoc = operations(doc).map((o) => `${o.method} ${o.path}`);
    expect(new Set(inDoc)).toEqual(inApp);
    // The public endpoints are in it too.
    for (const p of ['/hooks/{token}', '/feeds/{handle}.atom', '/feeds/{handle}.rss', '/feeds/{handle}.json', '/statuses/{id}', '/api/v1/openapi.json']) expect(Object.keys(doc.paths)).toContain(p);
  });

  it('fails on a route declared without route(), wherever it is mounted', () => {
    const app = express();
    const api = Router();
    route(api, { method: 'get', path: '/known', operationId: 'known', summary: 'Known', tags: [], responses: { 200: { description: 'ok', body: z.object({}) } } }, async () => ({ status: 200, body: {} }));
    api.get('/unknown/:id', (_req, res) => {
      res.end();
    });
    app.use('/api/v1', Router().use(api));
    const found = appRoutes(app).map((r) => `${r.method} ${r.path} ${r.spec ? 'documented' : 'undocumented'}`);
    expect(found).toEqual(['get /api/v1/known documented', 'get /api/v1/unknown/:id undocumented']);
  });

  it('gives every operation an id, a summary, a tag, bearer auth unless public, and problem+json errors', async () => {
    const ids = new Set<string>();
    const typesRead = new Set<string>();
    for (const { path, method, op } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(op.operationId), `${where}: operationId ${op.operationId} twice`).toBe(false);
      ids.add(op.operationId);
      expect(op.summary, where).toBeTruthy();
      expect(op.tags?.length, where).toBeGreaterThan(0);
      const isPublic = !path.startsWith('/api/v1/') || path === '/api/v1/openapi.json';
      if (isPublic) expect(op.security ?? [], where).not.toContainEqual({ bearerAuth: [] });
      else {
        expect(op.security, where).toEqual([{ bearerAuth: [] }]);
        expect(op.responses['401'], where).toEqual({ $ref: '#/components/responses/Problem401' });
      }
      // 413 and 400 are possible everywhere: the body limit and the URL checks run before any route.
      expect(op.responses['413'], where).toEqual({ $ref: '#/components/responses/Problem413' });
      expect(op.responses['400'], where).toBeDefined();
      for (const [status, resp] of Object.entries(op.responses as Record<string, Doc>)) {
        if (Number(status) < 400) continue;
        const body = resp.$ref ? doc.components.responses[resp.$ref.split('/').pop()] : resp;
        expect(body.content['application/problem+json'].schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Problem' });
        // A shared problem response shows a problem of its own status, not the schema's 400.
        if (resp.$ref) {
          const example = body.content['application/problem+json'].example;
          expect(example, `${where} ${status}`).toMatchObject({ status: Number(status), type: expect.stringMatching(/\/problems\/[a-z_]+$/), title: expect.any(String), detail: expect.stringMatching(/\.$/) });
          if (!typesRead.has(example.type)) {
            typesRead.add(example.type);
            expect((await h.call('GET', new URL(example.type).pathname, { token: null })).status, example.type).toBe(200);
          }
        }
      }
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents the Idempotency-Key header, pagination and request bodies from the validating schemas', () => {
    const post = doc.paths['/api/v1/statuses'].post;
    expect(post.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'Idempotency-Key', schema: expect.objectContaining({ maxLength: 255 }) }));
    expect(post.requestBody.content['application/json'].schema).toMatchObject({ required: ['text'], additionalProperties: false });
    const timeline = doc.paths['/api/v1/sources/{handle}/statuses'].get;
    const names = timeline.parameters.map((p: Doc) => `${p.in}:${p.name}`);
    expect(names).toEqual(expect.arrayContaining(['path:handle', 'query:limit', 'query:before']));
    expect(timeline.parameters.find((p: Doc) => p.name === 'limit').schema).toMatchObject({ minimum: 1, maximum: 100, default: 20 });
    expect(timeline.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/StatusPage' });
    expect(doc.components.schemas.StatusPage.properties.next).toBeDefined();
    expect(Object.keys(doc.paths['/hooks/{token}'].post.requestBody.content)).toEqual(['text/plain', 'application/x-www-form-urlencoded', 'application/json']);
  });
});

describe('the check of real answers against the document', () => {
  it('refuses an undocumented status, an undocumented media type and a body that does not match', async () => {
    const post = await h.call('POST', '/api/v1/statuses', { token: (await h.person('olga')).token, body: { text: 'checked against the document' } });
    expect(post.status).toBe(201);
    const checker = documentChecker(doc);
    const answer = { method: 'GET', url: `/api/v1/statuses/${post.body.id}?x=1`, status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(post.body) };
    expect(checker.check(answer)).toBeNull();
    expect(checker.check({ ...answer, status: 418 })).toMatch(/answered 418, a status the document does not list/);
    expect(checker.check({ ...answer, contentType: 'text/plain' })).toMatch(/as text\/plain; the document lists application\/json/);
    expect(checker.check({ ...answer, body: JSON.stringify({ ...post.body, platform: 'fax' }) })).toMatch(/\/platform must be equal to one of the allowed values/);
    expect(checker.check({ ...answer, body: JSON.stringify({ ...post.body, secret: 'x' }) })).toMatch(/must NOT have additional properties "secret"/);
    expect(checker.check({ ...answer, status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'x', title: 'Not found' }) })).toMatch(/must have required property 'status'/);
    // Paths the document does not describe are not its business.
    expect(checker.check({ ...answer, url: '/healthz', status: 200 })).toBeNull();
    expect(checker.check({ ...answer, method: 'PUT', status: 405 })).toBeNull();
  });
});

describe('GET /api/docs', () => {
  it('is a page of our own: scripts only from this server, no inline script, under a strict CSP', async () => {
    const r = await h.call('GET', '/api/docs', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const scripts = [...r.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(2);
    for (const [, attrs, inline] of scripts) {
      expect(attrs).toMatch(/src="\/api\/docs\/[\w.-]+\.js"/);
      expect(inline).toBe('');
    }
    expect(r.text).not.toMatch(/\son[a-z]+=/i);
    expect(r.text).toContain('href="/api/v1/openapi.json"');
    for (const [file, type] of [
      ['swagger-ui-bundle.js', /^text\/javascript/],
      ['swagger-ui.css', /^text\/css/],
      ['init.js', /^text\/javascript/],
      ['docs.css', /^text\/css/],
    ] as const) {
      const a = await fetch(`${h.base}/api/docs/${file}`);
      expect(a.status, file).toBe(200);
      expect(a.headers.get('content-type'), file).toMatch(type);
      await a.arrayBuffer();
    }
    const init = await (await fetch(`${h.base}/api/docs/init.js`)).text();
    expect(init).toContain("url: '/api/v1/openapi.json'");
    expect(init).toContain('validatorUrl: null');
    expect((await fetch(`${h.base}/api/docs/index.html`)).status).toBe(404);
  });

  describe('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('renders every operation offline, with no CSP complaint and no serious or critical axe finding', async () => {
      const context = await browser.newContext();
      // Offline: anything not from this server is refused (and recorded).
      const elsewhere: string[] = [];
      await context.route(/.*/, (r) => {
        if (r.request().url().startsWith(h.base)) return r.continue();
        elsewhere.push(r.request().url());
        return r.abort();
      });
      const page = await context.newPage();
      const complaints: string[] = [];
      watchConsole(page, complaints);
      await page.goto(`${h.base}/api/docs`);
      await page.getByRole('heading', { name: 'Twitterprise API reference', level: 1 }).waitFor();
      await page.locator('.opblock').first().waitFor();
      expect(await page.locator('.opblock').count()).toBe(operations(doc).length);
      // Opening an operation shows its parameters and responses.
      await page.locator('#operations-statuses-createStatus .opblock-summary-control').click();
      await page.locator('#operations-statuses-createStatus .responses-table').first().waitFor();
      expect(await page.locator('#operations-statuses-createStatus').textContent()).toContain('Idempotency-Key');
      expect(complaints).toEqual([]);
      expect(elsewhere).toEqual([]);
      expect(await axeProblems(page)).toEqual([]);
      // On a phone (375 px) the open operation fits: nothing wider than the screen (its responses table did by 24 px).
      await page.setViewportSize({ width: 375, height: 800 });
      await page.locator('#operations-statuses-createStatus .responses-table').first().scrollIntoViewIfNeeded();
      expect(await overflow(page)).toBeLessThanOrEqual(0);
      await context.close();
    }, 180_000);
  });
});
