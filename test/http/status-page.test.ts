import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  for (const [handle, visibility] of [['news', 'public'], ['payroll', 'protected']] as const) {
    expect((await h.call('POST', '/api/v1/services', { token: ADMIN, body: { handle, name: `The ${handle}`, visibility } })).status).toBe(201);
  }
});
afterAll(() => h?.close());

const postAs = async (as: string, text: string) => {
  const r = await h.call('POST', '/api/v1/statuses', { token: ADMIN, body: { as, text } });
  expect(r.status).toBe(201);
  return r.body as { id: string; url: string };
};
/** Opens a status's url as a link is opened: no token. */
const open = (url: string, accept: string) => fetch(url.replace(h.t.config.publicUrl, h.base), { headers: { accept }, signal: AbortSignal.timeout(15_000) });

describe('GET /statuses/:id (where a status url points)', () => {
  it('shows a public status to anyone: a page for a browser, the API shape for JSON', async () => {
    const s = await postAs('news', 'Canteen <b>closed</b> "today" & tomorrow\nsecond line');
    expect(s.url).toBe(`${h.t.config.publicUrl}/statuses/${s.id}`);

    const page = await open(s.url, 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).toContain('Canteen &lt;b&gt;closed&lt;/b&gt; &quot;today&quot; &amp; tomorrow\nsecond line');
    expect(html).not.toContain('<b>closed</b>');
    expect(html).toContain('<title>The news (@news): Canteen &lt;b&gt;closed');
    expect(html).toContain(`href="${h.t.config.publicUrl}/feeds/news.atom"`);

    const api = await h.call('GET', `/api/v1/statuses/${s.id}`, { token: ADMIN });
    for (const accept of ['application/json', '*/*']) {
      const json = await open(s.url, accept);
      expect(json.status).toBe(200);
      expect(await json.json()).toEqual(api.body);
    }
  });

  it('answers the same 404 for a protected, a deleted and an unknown status, revealing nothing', async () => {
    const secret = await postAs('payroll', 'Salaries paid');
    const gone = await postAs('news', 'Oops');
    expect((await h.call('DELETE', `/api/v1/statuses/${gone.id}`, { token: ADMIN })).status).toBe(204);
    const details = [];
    const pages = [];
    for (const url of [secret.url, gone.url, `${h.t.config.publicUrl}/statuses/0190a0a0-0000-7000-8000-000000000000`]) {
      const r = await open(url, 'application/json');
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = (await r.json()) as { detail: string };
      expect(body.detail).not.toContain('Salaries');
      details.push(body.detail.replace(/[0-9a-f-]{20,}/gi, 'ID'));
      // A browser gets a page that says why, the same for all three.
      const p = await open(url, 'text/html,*/*;q=0.8');
      expect(p.status).toBe(404);
      expect(p.headers.get('content-type')).toMatch(/^text\/html/);
      pages.push(await p.text());
    }
    expect(new Set(details).size).toBe(1);
    expect(new Set(pages).size).toBe(1);
    expect(pages[0]).toContain('This status is not here');
    expect(pages[0]).not.toContain('Salaries');
    // With a token that may see it, the API shows the protected status.
    expect((await h.call('GET', `/api/v1/statuses/${secret.id}`, { token: ADMIN })).status).toBe(200);
  });
});
