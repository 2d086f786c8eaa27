import { createServer } from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { sendSlashCommand, slackEnv } from '../integrations/slack/helpers.js';
import { startE2E, type E2E } from '../e2e/harness.js';

/**
 * The whole app (web + worker) with the fake Slack, served at PUBLIC_URL http://localhost:<port> so the
 * session cookie can carry the `__Host-` prefix, and a real headless Chromium (Debian's, via
 * playwright-core: Playwright's own download cannot work here).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ConsoleWorld {
  e: E2E;
  slack: FakeSlackApi;
  /** http://localhost:<port>: what the browser opens (PUBLIC_URL). */
  base: string;
  /** http://127.0.0.1:<port>: for plain HTTP requests from the test. */
  direct: string;
  close(): Promise<void>;
}

export async function startConsoleWorld(env: Record<string, string> = {}): Promise<ConsoleWorld> {
  const slack = await startFakeSlackApi();
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const e = await startE2E({ ...slackEnv(slack.apiUrl), PORT: String(port), PUBLIC_URL: base, ...env }, { slack: { botId: 'BBOT', botUserId: 'UBOT' } });
  return {
    e,
    slack,
    base,
    direct: `http://127.0.0.1:${port}`,
    async close() {
      await e.close();
      await slack.stop();
    },
  };
}

export function addSlackUser(w: ConsoleWorld, id: string, name: string): void {
  const email = `${name.toLowerCase()}@corp.example`;
  w.slack.addUser({ id, team_id: 'T1', name: name.toLowerCase(), real_name: name, tz: 'Europe/Berlin', profile: { email, real_name: name } });
}

let seq = 0;
/** A signed `/tp <text>` from a Slack user; resolves with the private reply posted to the response_url. */
export async function slash(w: ConsoleWorld, user: string, text: string): Promise<Record<string, unknown>> {
  const id = `${user}-${++seq}`;
  const r = await sendSlashCommand(w.direct, { user_id: user, text, response_url: w.slack.responseUrl(id) });
  expect(r.status).toBe(200);
  return (await w.slack.waitForResponse(id, 10_000)).body;
}

/** `/tp web` in Slack, then the link's confirm page and its button: a signed-in browser context. */
export async function signInLink(w: ConsoleWorld, user: string): Promise<string> {
  const reply = await slash(w, user, 'web');
  const url = /https?:\/\/\S+\/sign-in\/[A-Za-z0-9_-]{43}/.exec(String(reply.text))?.[0];
  if (!url) throw new Error(`no sign-in link in ${JSON.stringify(reply)}`);
  return url;
}

export async function signIn(w: ConsoleWorld, context: BrowserContext, user: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(await signInLink(w, user));
  await page.getByRole('button', { name: /^Sign in as @/ }).click();
  await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
  return page;
}

/** Every Content-Security-Policy complaint and page error the browser reports. */
export function watchConsole(page: Page, into: string[]): void {
  page.on('console', (m) => {
    // A 403 or 404 page is an answer we asked for; the browser's note about its status is not a problem.
    if (/^Failed to load resource: the server responded with a status of (403|404|410)/.test(m.text())) return;
    if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text())) into.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => into.push(`${page.url()}: ${err.message}`));
}

/** axe-core on the page: serious and critical violations, as readable lines. */
export async function axeProblems(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${page.url()}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Wider than the viewport: something does not fit (375 px). */
export async function overflow(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
}

/** Waits for the flash message (POST, redirect, page) that says `text`; returns it. */
export async function flash(page: Page, text: string): Promise<string> {
  const f = page.locator('#flash .flash', { hasText: text });
  await f.waitFor({ timeout: 10_000 });
  return (await f.textContent()) ?? '';
}
