import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUnsubscribeToken } from '../../src/integrations/email/unsubscribe-token.js';
import { ADMIN, eventually, person } from '../e2e/harness.js';
import { WebhookReceiver } from '../fakes/webhook-receiver.js';
import { addSlackUser, axeProblems, flash, launchBrowser, overflow, signIn, signInLink, slash, startConsoleWorld, watchConsole, type ConsoleWorld } from './browser.js';
import { waitUntil } from '../helpers/wait.js';

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
    await flash(page, 'Welcome, @ann');
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

describe("each page's main action (JavaScript on: htmx updates in place)", () => {
  it('home: the post box posts a status as me, or as a service I own', async () => {
    const page = samPage;
    await page.goto(`${w.base}/`);
    await page.getByLabel('What is happening?').fill('Deploying the console #release');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await flash(page, 'Posted as @sam');
    await page.getByLabel('What is happening?').fill('Build 42 is green');
    await page.getByLabel('Post as').selectOption('build');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await flash(page, 'Posted as @build');
    const mine = await w.e.call<{ items: { text: string; platform: string }[] }>('GET', '/api/v1/sources/sam/statuses', { token: ADMIN });
    expect(mine.body.items[0]).toMatchObject({ text: 'Deploying the console #release', platform: 'web' });
  });

  it('directory: search, then Follow swaps the row in place; a protected source gets a request', async () => {
    const page = samPage;
    await page.goto(`${w.base}/directory`);
    await page.getByLabel('Search by handle or name').fill('ann');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Matching "ann"' }).waitFor();
    const row = page.locator('#src-ann');
    await row.waitFor();
    expect(await page.locator('ul.list > li').count()).toBe(1);
    const before = page.url();
    await row.getByRole('button', { name: 'Follow @ann' }).click();
    await row.getByRole('button', { name: 'Unfollow @ann' }).waitFor();
    expect(page.url()).toBe(before);
    await page.goto(`${w.base}/directory?kind=service`);
    await page.locator('#src-payroll').getByRole('button', { name: 'Request to follow @payroll' }).click();
    await page.locator('#src-payroll').getByRole('button', { name: /Cancel your request/ }).waitFor();
    const follows = await w.e.call<{ items: { target: string; state: string }[] }>('GET', '/api/v1/follows', { token: (await samToken()).token });
    expect(follows.body.items.map((f) => `${f.target} ${f.state}`).sort()).toEqual(['@ann active', '@payroll pending']);
  });

  it('a source page: statuses, whois facts, and follow from there', async () => {
    const page = samPage;
    await page.goto(`${w.base}/@build`);
    await page.getByRole('heading', { name: /Build pipeline/ }).waitFor();
    expect(await page.getByText('Build 42 is green').count()).toBe(1);
    expect(await page.locator('dl.facts').textContent()).toContain('@sam');
    await page.getByRole('button', { name: 'Follow @build' }).click();
    await flash(page, 'You follow @build');
    await page.getByRole('button', { name: 'Unfollow @build' }).waitFor();
  });

  it('following: routes, filters and on/off per follow', async () => {
    const page = samPage;
    await page.goto(`${w.base}/following`);
    const item = page.locator('li', { has: page.getByRole('heading', { name: /@build/ }) });
    await item.getByLabel('Email digest').check();
    await item.getByLabel('Filters').fill('+#release -flaky');
    await item.getByRole('button', { name: 'Save' }).click();
    await flash(page, 'Saved @build');
    await page.getByRole('button', { name: 'Turn @build off' }).click();
    await flash(page, '@build is off');
    const f = await w.e.call<{ items: { target: string; route: string; filters: string[]; state: string }[] }>('GET', '/api/v1/follows', { token: (await samToken()).token });
    expect(f.body.items.find((x) => x.target === '@build')).toMatchObject({ route: 'dm+email', filters: ['+#release', '-flaky'], state: 'off' });
    await page.getByRole('button', { name: 'Turn @build on' }).click();
    await flash(page, '@build is on');
  });

  it('settings, then followers and requests: protect, a request arrives, approve it', async () => {
    const page = samPage;
    await page.goto(`${w.base}/settings`);
    await page.getByLabel('From').fill('22:00');
    await page.getByLabel('Until').fill('07:00');
    await page.locator('form[action="/settings/quiet"]').getByRole('button', { name: 'Save' }).click();
    await flash(page, 'Quiet hours: 22:00-07:00');
    await page.getByLabel('Your statuses are').selectOption('protected');
    await page.locator('form[action="/settings/protect"]').getByRole('button', { name: 'Save' }).click();
    await flash(page, 'protected');
    const paula = await person(w.e, 'paula');
    expect((await w.e.call('POST', '/api/v1/follows', { token: paula.token, body: { target: '@sam' } })).body).toMatchObject({ state: 'pending' });
    await page.goto(`${w.base}/followers`);
    await page.getByRole('button', { name: 'Approve @paula' }).click();
    await flash(page, "approved @paula's request to follow @sam");
    await page.getByRole('button', { name: 'Block @paula' }).waitFor();
  });

  it('tokens: create (shown once), then revoke', async () => {
    const page = samPage;
    await page.goto(`${w.base}/tokens`);
    await page.getByRole('button', { name: 'Create a personal token' }).click();
    const secret = (await page.locator('code.secret').textContent())!;
    expect(secret).toMatch(/^tp_/);
    expect((await w.e.call('GET', '/api/v1/timeline', { token: secret })).status).toBe(200);
    await page.goto(`${w.base}/tokens`);
    expect(await page.content()).not.toContain(secret);
    const revokes = page.getByRole('button', { name: /^Revoke/ });
    const n = await revokes.count();
    await revokes.first().click();
    await flash(page, 'revoked');
    expect(await page.getByRole('button', { name: /^Revoke/ }).count()).toBe(n - 1);
  });

  it('services I own: post as the service, a new hook URL shown once', async () => {
    const page = samPage;
    await page.goto(`${w.base}/services`);
    await page.getByRole('link', { name: 'Manage @build' }).click();
    await page.getByLabel('Status', { exact: true }).fill('Nightly build started');
    await page.getByRole('button', { name: 'Post as @build' }).click();
    await flash(page, 'Posted as @build');
    await page.getByRole('button', { name: 'New hook URL' }).click();
    const url = (await page.locator('code.secret').textContent())!;
    expect(url).toMatch(/\/hooks\/th_/);
    const hooked = await fetch(url.replace(w.base, w.direct), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'from a hook' });
    expect(hooked.status).toBe(201);
  });

  it('webhooks: create with the secret once, send a test, see it in the log, redeliver, disable', async () => {
    const page = samPage;
    await page.goto(`${w.base}/webhooks`);
    await page.getByLabel('Endpoint URL').fill(receiver.url('/sam'));
    await page.getByLabel('Description').fill('Sam receiver');
    await page.getByRole('button', { name: 'Create' }).click();
    const secret = (await page.locator('code.secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    receiver.expect('/sam', secret);
    await page.getByRole('link', { name: 'Sam receiver' }).first().click();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await flash(page, 'webhook.test');
    await receiver.waitFor(() => receiver.eventsAt('/sam').find((e) => e.type === 'webhook.test'), 'the test event');
    const hookUrl = page.url();
    await eventually(async () => {
      await page.goto(hookUrl);
      return (await page.locator('table').textContent())?.includes('sent');
    }, 'the delivery log shows sent');
    await page.getByRole('button', { name: 'Redeliver' }).first().click();
    await flash(page, 'Redelivered');
    await receiver.waitFor(() => receiver.hits('/sam') >= 2 || null, 'the redelivery');
    await page.getByRole('button', { name: 'Disable' }).click();
    await flash(page, 'disabled');
    await page.getByRole('button', { name: 'Enable' }).waitFor();
  });

  it('my deliveries: what reached me, where, and its state', async () => {
    const page = samPage;
    await slash(w, 'UANN', 'post lunch is ready');
    await eventually(async () => {
      await page.goto(`${w.base}/deliveries`);
      return (await page.locator('table').count()) > 0 && (await page.locator('table').textContent())?.includes('sent');
    }, 'a sent delivery in the list');
    expect(await page.locator('table').textContent()).toContain('dm');
  });
});

let samTokenCache: { token: string } | null = null;
async function samToken(): Promise<{ token: string }> {
  if (samTokenCache) return samTokenCache;
  const t = await w.e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: '@sam' } });
  samTokenCache = { token: t.body.token };
  return samTokenCache;
}

describe('admin versus non-admin', () => {
  it('a non-admin gets 403 for /admin, the consent record and queue health, and no Admin link', async () => {
    for (const p of ['/admin', '/admin/consent', '/admin/queues']) {
      const r = await samPage.goto(`${w.base}${p}`);
      expect(r?.status(), p).toBe(403);
    }
    await samPage.goto(`${w.base}/`);
    expect(await samPage.getByRole('link', { name: 'Admin' }).count()).toBe(0);
  });

  it('an ADMIN_HANDLES admin sees people and services, grants admin (recorded), filters and exports the consent record, opens bull-board', async () => {
    const ruth = await newContext();
    await slash(w, 'URUTH', 'help');
    const page = await signIn(w, ruth, 'URUTH');
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Administration' }).waitFor();
    expect(await page.getByText('admin (ADMIN_HANDLES)').count()).toBe(1);
    await page.getByRole('button', { name: 'Make @ann admin' }).click();
    await flash(page, '@ann is now an administrator');
    await page.getByLabel('Handle').first().fill('newbie');
    await page.getByLabel('Name').first().fill('New Bie');
    await page.getByLabel('Email').fill('newbie@corp.example');
    await page.getByRole('button', { name: 'Create person' }).click();
    await flash(page, 'Created @newbie');
    await page.goto(`${w.base}/admin/consent`);
    await page.getByLabel('Person, service or subject id').fill('@ann');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'admin_grant' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    const csv = await (await download.createReadStream()).toArray();
    expect(Buffer.concat(csv).toString()).toContain('"admin_grant"');
    const board = await page.goto(`${w.base}/admin/queues`);
    expect(board?.status()).toBe(200);
    await page.waitForSelector('text=Twitterprise queues', { timeout: 15_000 });
    await ruth.close();
  });
});

describe('without JavaScript, forms still work (POST, redirect, flash)', () => {
  it('signs in, follows from the directory and posts, all as plain forms', async () => {
    const ctx = await newContext({ javaScriptEnabled: false });
    addSlackUser(w, 'UNOJS', 'Nojs');
    await slash(w, 'UNOJS', 'help');
    const page = await signIn(w, ctx, 'UNOJS');
    await page.goto(`${w.base}/directory`);
    await page.locator('#src-build').getByRole('button', { name: 'Follow @build' }).click();
    await flash(page, 'You follow @build');
    expect(page.url()).toBe(`${w.base}/directory?q=&kind=`);
    await page.goto(`${w.base}/`);
    await page.getByLabel('What is happening?').fill('No scripts needed');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await flash(page, 'Posted as @nojs');
    await ctx.close();
  });
});

describe('CSRF: a state-changing request from anywhere but our own pages is 403 and changes nothing', () => {
  it('refuses plain requests without Origin or with another origin, and takes one from PUBLIC_URL', async () => {
    const cookie = (await sam.cookies()).find((c) => c.name === '__Host-tp_session')!;
    const post = (headers: Record<string, string>, text: string) =>
      fetch(`${w.direct}/post`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: `${cookie.name}=${cookie.value}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ text }).toString(),
      });
    expect((await post({}, 'csrf one')).status).toBe(403);
    expect((await post({ origin: w.base.replace(/:\d+$/, ':1') }, 'csrf two')).status).toBe(403);
    expect((await post({ 'sec-fetch-site': 'same-site' }, 'csrf three')).status).toBe(403);
    expect((await post({ origin: w.base }, 'allowed from our origin')).status).toBe(303);
    const mine = await w.e.call<{ items: { text: string }[] }>('GET', '/api/v1/sources/sam/statuses?limit=50', { token: ADMIN });
    const texts = mine.body.items.map((i) => i.text);
    expect(texts).toContain('allowed from our origin');
    expect(texts.filter((t) => t.startsWith('csrf'))).toEqual([]);
  });

  it('refuses the sign-in confirmation without Origin, and the link stays usable', async () => {
    const link = await signInLink(w, 'UANN');
    const r = await fetch(link.replace(w.base, w.direct), { method: 'POST', redirect: 'manual' });
    expect(r.status).toBe(403);
    expect(r.headers.get('set-cookie')).toBeNull();
    expect((await fetch(link.replace(w.base, w.direct))).status).toBe(200);
  });

  it('refuses a form on another port of the same host (same-site, so the Lax cookie travels)', async () => {
    const { createServer } = await import('node:http');
    const evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><html lang="en"><title>x</title><form method="post" action="${w.base}/post"><input name="text" value="from another port"><button>Go</button></form></html>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const port = (evil.address() as { port: number }).port;
    const page = await sam.newPage();
    // Every step bounded, so a browser that stalls names the step instead of running into the test's timeout.
    await page.goto(`http://localhost:${port}/`, { waitUntil: 'domcontentloaded', timeout: 10_000 });
    const answers: number[] = [];
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === '/post') answers.push(res.status());
    });
    await page.getByRole('button', { name: 'Go' }).click({ noWaitAfter: true, timeout: 10_000 });
    await waitUntil(() => answers.length > 0, 'the answer to the cross-port form', { timeoutMs: 10_000, everyMs: 50 });
    expect(answers).toEqual([403]);
    await page.close({ runBeforeUnload: false });
    // The browser may keep its connection to this server open; close drops it instead of waiting on it.
    evil.closeAllConnections();
    await new Promise<void>((resolve) => evil.close(() => resolve()));
    const mine = await w.e.call<{ items: { text: string }[] }>('GET', '/api/v1/sources/sam/statuses?limit=50', { token: ADMIN });
    expect(mine.body.items.map((i) => i.text)).not.toContain('from another port');
  });
});

describe('every page: axe (no serious or critical violations), CSP with no complaints, 375 px wide', () => {
  it('holds for the console, the status page, the unsubscribe page and the sign-in pages', async () => {
    const st = await samToken();
    const hooks = await w.e.call<{ items: { id: string }[] }>('GET', '/api/v1/webhooks', { token: st.token });
    const status = await w.e.call<{ items: { id: string }[] }>('GET', '/api/v1/sources/build/statuses', { token: ADMIN });
    const samPages: [string, string][] = [
      ['home', '/'],
      ['directory', '/directory'],
      ['source', '/@build'],
      ['following', '/following'],
      ['followers', '/followers'],
      ['settings', '/settings'],
      ['tokens', '/tokens'],
      ['services', '/services'],
      ['service', '/services/build'],
      ['webhooks', '/webhooks'],
      ['webhook', `/webhooks/${hooks.body.items[0]!.id}`],
      ['deliveries', '/deliveries'],
    ];
    const anonPages: [string, string][] = [
      ['landing', '/'],
      ['public-source', '/@build'],
      ['status-page', `/statuses/${status.body.items[0]!.id}`],
      ['not-found', '/@nobody'],
    ];
    const ruthCtx = await newContext();
    const ruth = await signIn(w, ruthCtx, 'URUTH');
    const adminPages: [string, string][] = [
      ['admin', '/admin'],
      ['consent', '/admin/consent'],
    ];
    const anon = await newContext();
    const anonPage = await anon.newPage();
    const found: string[] = [];
    const visit = async (page: Page, list: [string, string][], prefix: string) => {
      for (const [name, p] of list) {
        await page.goto(`${w.base}${p}`);
        found.push(...(await axeProblems(page)));
        await shot(page, `${prefix}${name}`);
      }
    };
    await visit(samPage, samPages, '');
    await visit(ruth, adminPages, '');
    await visit(anonPage, anonPages, '');
    // The unsubscribe confirmation (email integration) and the sign-in confirmation.
    await anonPage.goto(`${w.base}/unsubscribe/${unsubscribeFor('sam')}`);
    found.push(...(await axeProblems(anonPage)));
    await shot(anonPage, 'unsubscribe');
    await anonPage.goto(await signInLink(w, 'UANN'));
    found.push(...(await axeProblems(anonPage)));
    expect(found).toEqual([]);

    // 375 px: nothing wider than the screen.
    const narrow = await newContext({ viewport: { width: 375, height: 800 }, storageState: await sam.storageState() });
    const phone = await narrow.newPage();
    const wide: string[] = [];
    for (const [name, p] of samPages) {
      await phone.goto(`${w.base}${p}`);
      const over = await overflow(phone);
      if (over > 0) wide.push(`${p}: ${over}px too wide`);
      if (name === 'home' || name === 'following') await shot(phone, `mobile-${name}`);
    }
    expect(wide).toEqual([]);
    await narrow.close();
    await ruthCtx.close();
    await anon.close();
    // Every page above and in the tests before: no CSP complaint, no script error (bull-board is exempt: SPEC section 10).
    expect(problems.filter((p) => !p.includes('/admin/queues'))).toEqual([]);
  }, 180_000);
});

/** The digest's one-click unsubscribe link token for a person (the email integration's own signer). */
let unsubscribeFor: (handle: string) => string = () => '';
beforeAll(async () => {
  const { getSourceByHandle } = await import('../../src/app/people.js');
  const { unsubscribeKeys } = await import('../../src/integrations/email/unsubscribe-keys.js');
  const key = (await unsubscribeKeys(w.e.app.ctx)).current;
  const rows = new Map<string, string>();
  unsubscribeFor = (handle) => signUnsubscribeToken(key, rows.get(handle) ?? '');
  for (const h of ['sam']) {
    const s = await getSourceByHandle(w.e.app.ctx, h);
    if (s) rows.set(h, s.id);
  }
});
