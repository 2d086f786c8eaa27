import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../app/context.js';
import { sessionFor, type ConsoleSession } from '../app/sessions.js';
import { SESSION_IDLE_MS } from '../app/sessions.js';

/**
 * The console's HTTP plumbing: the session cookie, CSRF, flash messages. The cookie is HttpOnly,
 * SameSite=Lax, `__Host-` prefixed (hence Secure, Path=/, no Domain) where the scheme allows: on https,
 * and on http://localhost, which browsers count as a secure context.
 */

export interface CookieNames {
  session: string;
  flash: string;
  secure: boolean;
}

export function cookieNames(publicUrl: string): CookieNames {
  const u = new URL(publicUrl);
  const secure = u.protocol === 'https:' || u.hostname === 'localhost';
  return secure ? { session: '__Host-tp_session', flash: '__Host-tp_flash', secure } : { session: 'tp_session', flash: 'tp_flash', secure };
}

export function readCookies(req: Request): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    try {
      out.set(k, decodeURIComponent(v));
    } catch {
      /* a cookie we did not write */
    }
  }
  return out;
}

function cookie(names: CookieNames, name: string, value: string, maxAgeSeconds: number): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`];
  if (names.secure) parts.push('Secure');
  return parts.join('; ');
}

export function setSessionCookie(res: Response, names: CookieNames, token: string): void {
  res.append('Set-Cookie', cookie(names, names.session, token, SESSION_IDLE_MS / 1000));
}

export function clearSessionCookie(res: Response, names: CookieNames): void {
  res.append('Set-Cookie', cookie(names, names.session, '', 0));
}

export type FlashKind = 'ok' | 'error';

/** A one-line message for the next page (POST, redirect, then the page says what happened). */
export function setFlash(res: Response, names: CookieNames, kind: FlashKind, text: string): void {
  res.append('Set-Cookie', cookie(names, names.flash, `${kind}:${text.slice(0, 600)}`, 60));
}

export function takeFlash(req: Request, res: Response, names: CookieNames): { kind: FlashKind; text: string } | null {
  const raw = readCookies(req).get(names.flash);
  if (!raw) return null;
  res.append('Set-Cookie', cookie(names, names.flash, '', 0));
  const i = raw.indexOf(':');
  const kind = raw.slice(0, i);
  if (kind !== 'ok' && kind !== 'error') return null;
  return { kind, text: raw.slice(i + 1) };
}

export function sessionOf(res: Response): ConsoleSession | null {
  return (res.locals.consoleSession as ConsoleSession | undefined) ?? null;
}

export function loadSession(ctx: AppContext, names: CookieNames): RequestHandler {
  return async (req, res, next) => {
    res.locals.consoleSession = await sessionFor(ctx, readCookies(req).get(names.session));
    next();
  };
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF (SPEC section 10): a state-changing request needs `Sec-Fetch-Site: same-origin` or an `Origin`
 * equal to PUBLIC_URL's origin. A page on another port of the same host is same-site, so SameSite=Lax
 * alone would let it through; this check does not. Refused: 403, and nothing changes.
 */
export function csrfGuard(publicUrl: string, refuse: (req: Request, res: Response) => void): RequestHandler {
  const origin = new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE.has(req.method)) return next();
    const site = req.get('sec-fetch-site');
    const from = req.get('origin');
    if (site === 'same-origin' || (from !== undefined && from === origin)) return next();
    refuse(req, res);
  };
}

/** True when htmx asked (it sends HX-Request); the answer may then be a fragment. */
export const isHtmx = (req: Request) => req.get('hx-request') === 'true';
