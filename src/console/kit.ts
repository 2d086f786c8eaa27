import type { Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../app/context.js';
import type { ConsoleSession } from '../app/sessions.js';
import type { DestinationCheck } from '../app/webhooks.js';
import { DomainError } from '../core/errors.js';
import { html, type Html } from '../web/html.js';
import { layout, type PageInput } from './layout.js';
import { setFlash, takeFlash, sessionOf, type CookieNames } from './web.js';

/** What the console asks of the delivery pipeline (main.ts wires the real functions, as for the API). */
export interface ConsolePipeline {
  sendTestEvent(webhookId: string): Promise<{ deliveryId: string }>;
  redeliver(deliveryId: string): Promise<void>;
}

export interface ConsoleDeps {
  pipeline: ConsolePipeline;
  checkDestination: DestinationCheck;
  /** BullMQ queues for bull-board at /admin/queues (none: the page says so). */
  queues: readonly unknown[];
}

export interface Kit {
  ctx: AppContext;
  deps: ConsoleDeps;
  names: CookieNames;
}

export type Signed = ConsoleSession;

/** Who acts, in the shape the app layer's permission checks take. */
export const actor = (s: Signed) => ({ id: s.person.id, isAdmin: s.isAdmin });

export function send(res: Response, status: number, body: Html): void {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(body.value);
}

export function render(kit: Kit, req: Request, res: Response, p: Omit<PageInput, 'session' | 'flash'>, status = 200): void {
  send(res, status, layout({ ...p, session: sessionOf(res), flash: takeFlash(req, res, kit.names) }));
}

/** A page for signed-in people; anyone else is sent to the sign-in explanation. */
export function page(kit: Kit, fn: (req: Request, res: Response, s: Signed) => Promise<void>): RequestHandler {
  return async (req, res) => {
    const s = sessionOf(res);
    if (!s) {
      res.redirect(303, '/sign-in');
      return;
    }
    try {
      await fn(req, res, s);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const status = err.code === 'not_found' ? 404 : err.code === 'forbidden' ? 403 : 400;
      render(kit, req, res, { title: status === 404 ? 'Not found' : 'Not possible', active: '', body: html`<div class="card"><p>${err.message}</p><p><a href="/">Back home</a></p></div>` }, status);
    }
  };
}

export interface Outcome {
  /** Where to go next (POST, redirect, GET); default: the form's `back`, else the fallback. */
  to?: string;
  ok?: string;
}

/** Same-origin paths only, so a crafted form cannot send the browser elsewhere. */
const localPath = (p: unknown, fallback: string): string => (typeof p === 'string' && /^\/(?![/\\])/.test(p) ? p : fallback);

/**
 * A state-changing form (CSRF is checked before any of these run). The answer is always a redirect
 * with a flash message: the outcome, or the sentence naming the mistake.
 */
export function action(kit: Kit, fallback: string, fn: (req: Request, res: Response, s: Signed) => Promise<Outcome | void>): RequestHandler {
  return async (req, res) => {
    const s = sessionOf(res);
    if (!s) {
      setFlash(res, kit.names, 'error', 'Your session has ended: sign in again with "web" in chat.');
      res.redirect(303, '/sign-in');
      return;
    }
    const back = localPath((req.body as Record<string, unknown> | undefined)?.back, fallback);
    try {
      const out = await fn(req, res, s);
      if (res.headersSent) return;
      if (out?.ok) setFlash(res, kit.names, 'ok', out.ok);
      res.redirect(303, out?.to ?? back);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      setFlash(res, kit.names, 'error', err.message);
      res.redirect(303, back);
    }
  };
}

/** A form field as a trimmed string ('' when missing or repeated). */
export function field(req: Request, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v.trim() : '';
}

/** A repeated form field (checkboxes). */
export function fields(req: Request, name: string): string[] {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function queryString(req: Request, name: string): string {
  const v = req.query[name];
  return typeof v === 'string' ? v.trim() : '';
}

/** A hidden field that brings the person back to this page after the form. */
export const backTo = (path: string) => html`<input type="hidden" name="back" value="${path}">`;

/** A path parameter as one string. */
export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}
