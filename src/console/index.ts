import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import express, { Router, type Express, type Request, type RequestHandler, type Response } from 'express';
import type { AppContext } from '../app/context.js';
import { consumeSignInLink, endSession, peekSignInLink } from '../app/sessions.js';
import { DomainError } from '../core/errors.js';
import type { Integration } from '../integrations/types.js';
import { BODY_LIMIT_BYTES } from '../web/body-limit.js';
import { html } from '../web/html.js';
import { ASSETS, layout } from './layout.js';
import { param, render, send, type ConsoleDeps, type Kit } from './kit.js';
import { adminPages, mountBullBoard } from './pages/admin.js';
import { ownerPages } from './pages/owner.js';
import { personPages, signInHelp } from './pages/person.js';
import { CONSOLE_CSS } from './style.js';
import { clearSessionCookie, cookieNames, csrfGuard, loadSession, sessionOf, setFlash, setSessionCookie } from './web.js';

export type { ConsoleDeps, ConsolePipeline } from './kit.js';

/**
 * Scripts and styles from the app's own origin only; no inline script; htmx talks only to us; nothing
 * may frame the console.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Every path the console answers. */
const CONSOLE_PATHS =
  /^\/(?:$|@[^/]*$|console\/assets\/|sign-in(?:\/|$)|sign-out$|post$|follow$|unfollow$|directory$|following(?:\/|$)|followers$|requests\/|block$|settings(?:\/|$)|tokens(?:\/|$)|deliveries(?:\/|$)|services(?:\/|$)|webhooks(?:\/|$)|admin(?:\/|$))/;

const require = createRequire(import.meta.url);
/** htmx 2.x (pinned in package.json), served from the app: no CDN. */
const HTMX = readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8');

/**
 * The web console (SPEC section 10): an inbound door like Slack and Teams. Every action goes through
 * the same src/app functions the API and chat use; nothing here reads or writes the database itself.
 */
export function createConsole(ctx: AppContext, deps: ConsoleDeps): Integration {
  const names = cookieNames(ctx.config.publicUrl);
  const kit: Kit = { ctx, deps, names };
  const log = ctx.log.child({ name: 'console' });

  const refuse = (_req: Request, res: Response) => {
    res.status(403).type('html').set('Content-Security-Policy', CONSOLE_CSP);
    send(
      res,
      403,
      layout({
        title: 'Refused',
        session: null,
        body: html`<div class="card"><p>This request did not come from a Twitterprise page, so nothing was changed.</p><p><a href="/">Go to the console</a></p></div>`,
      }),
    );
  };
  const csrf = csrfGuard(ctx.config.publicUrl, refuse);
  const session = loadSession(ctx, names);
  const forms = express.urlencoded({ extended: false, limit: BODY_LIMIT_BYTES, parameterLimit: 200 });
  const headers: RequestHandler = (_req, res, next) => {
    res.set({ 'Content-Security-Policy': CONSOLE_CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin', 'X-Frame-Options': 'DENY' });
    next();
  };

  const r = Router();
  r.use(headers);
  r.get(`${ASSETS}/console.css`, (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(CONSOLE_CSS);
  });
  r.get(`${ASSETS}/htmx.min.js`, (_req, res) => {
    res.type('text/javascript').set('Cache-Control', 'public, max-age=86400').send(HTMX);
  });
  r.use(csrf, session, forms);

  // ---- Sign-in by one-time link; only the POST consumes it (previews and scanners GET).
  r.get('/sign-in', (req, res) => {
    if (sessionOf(res)) return res.redirect(303, '/');
    render(kit, req, res, { title: 'Sign in', noHeading: true, body: signInHelp() });
  });
  r.get('/sign-in/:token', async (req, res) => {
    // The secret is in this URL: it must not travel in a Referer.
    res.set({ 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
    const person = await peekSignInLink(ctx, param(req, 'token'));
    if (!person) {
      render(kit, req, res, { title: 'This link has expired', body: html`<div class="card"><p>Sign-in links work once, within 10 minutes. Type <code>web</code> in chat (<code>/tp web</code> in Slack) for a new one.</p></div>` }, 410);
      return;
    }
    render(kit, req, res, {
      title: 'Sign in',
      noHeading: true,
      body: html`<div class="hero card"><h1>Sign in as @${person.handle}</h1><p>${person.name}, you asked for this link in chat. It works once.</p>
<form method="post" action="/sign-in/${param(req, 'token')}" hx-boost="false"><button type="submit">Sign in as @${person.handle}</button></form>
<p class="hint">Not you, or did not ask? Close this page: nothing happens.</p></div>`,
    });
  });
  r.post('/sign-in/:token', async (req, res) => {
    res.set('Referrer-Policy', 'no-referrer');
    try {
      const { session: token, person } = await consumeSignInLink(ctx, param(req, 'token'));
      setSessionCookie(res, names, token);
      setFlash(res, names, 'ok', `Welcome, @${person.handle}.`);
      log.info({ person: person.id }, 'console sign-in');
      res.redirect(303, '/');
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      render(kit, req, res, { title: 'This link has expired', body: html`<div class="card"><p>${err.message}</p></div>` }, 410);
    }
  });
  r.post('/sign-out', async (_req, res) => {
    const s = sessionOf(res);
    if (s) await endSession(ctx, s.id);
    clearSessionCookie(res, names);
    setFlash(res, names, 'ok', 'You are signed out.');
    res.redirect(303, '/sign-in');
  });

  personPages(r, kit);
  ownerPages(r, kit);
  adminPages(r, kit);

  return {
    name: 'console',
    mount(app: Express) {
      // bull-board serves its own page and scripts (its own CSP, SPEC section 10), behind the admin session.
      mountBullBoard(app, kit, [csrf, session]);
      // Only the console's own paths: anything else falls through untouched to the 404 (and /api keeps problem+json).
      app.use((req, res, next) => (CONSOLE_PATHS.test(req.path) ? r(req, res, next) : next()));
    },
  };
}
