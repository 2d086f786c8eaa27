import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUnsubscribeToken } from '../../src/integrations/email/unsubscribe-token.js';
import { ADMIN, eventually, person } from '../e2e/harness.js';
import { WebhookReceiver } from '../fakes/webhook-receiver.js';
import { addSlackUser, axeProblems, flashText, launchBrowser, overflow, signIn, signInLink, slash, startConsoleWorld, watchConsole, type ConsoleWorld } from './browser.js';

/**
 * The web console in a real headless Chromium: sign-in from a real slash command on the fake Slack,
 * each page's main action, htmx in place, CSP, accessibility (axe), 375 px, admin versus non-admin.
 * One browser for the file; a context per person.
 */
let w: ConsoleWorld;
let browser: Browser;
let sam: BrowserContext;
let samPage: Page;
let receiver: WebhookReceiver;
const problems: string[] = [];
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? path.resolve('docs/console') : null;

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function newContext(opts: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const c = await browser.newContext({ viewport: { width: 1200, height: 900 }, ...opts });
  c.on('page', (p) => watchConsole(p, problems));
  return c;
}

beforeAll(async () => {
  w = await startConsoleWorld({ ADMIN_HANDLES: 'ruth' });
  browser = await launchBrowser();
  receiver = await WebhookReceiver.start();
  addSlackUser(w, 'USAM', 'Sam');
  addSlackUser(w, 'URUTH', 'Ruth');
  addSlackUser(w, 'UANN', 'Ann');
  // Sam and Ann exist once they use the app; @build is a service Sam owns.
  await slash(w, 'UANN', 'help');
  await slash(w, 'USAM', 'help');
  const svc = await w.e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'build', name: 'Build pipeline', owners: ['sam'] } });
  expect(svc.status).toBe(201);
  await w.e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'payroll', name: 'Payroll runs', visibility: 'protected' } });
  sam = await newContext();
  samPage = await signIn(w, sam, 'USAM');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await w?.close();
});

describe('sign-in by one-time link', () => {
  it('comes privately from /tp web, with no link preview; GET does not consume it; the button does, once', async () => {
    const reply = await slash(w, 'UANN', 'web');
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.unfurl_links).toBe(false);
    expect(reply.unfurl_media).toBe(false);
    const link = /http:\/\/localhost:\d+\/sign-in\/\S+/.exec(String(reply.text))![0];
    // A link preview or a mail scanner fetches it: nothing happens.
    for (let i = 0; i < 2; i++) {
      const peek = await fetch(link.replace(w.base, w.direct));
      expect(peek.status).toBe(200);
      expect(await peek.text()).toContain('Sign in as @ann');
    }
    const ctx = await newContext();
    const page = await ctx.newPage();
    await page.goto(link);
    await shot(page, 'sign-in');
    await page.getByRole('button', { name: 'Sign in as @ann' }).click();
    await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
    expect(await flashText(page)).toContain('Welcome, @ann');
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === '__Host-tp_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: true, path: '/' });
    // Used: the same link again is gone.
    const again = await ctx.newPage();
    const r = await again.goto(link);
    expect(r?.status()).toBe(410);
    // Sign-out ends the session on the server too.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Twitterprise' }).waitFor();
    const after = await fetch(`${w.direct}/following`, { headers: { cookie: `__Host-tp_session=${session!.value}` }, redirect: 'manual' });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/sign-in');
    await ctx.close();
  });
});
