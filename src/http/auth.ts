import type { RequestHandler, Response } from 'express';
import type { AppContext } from '../app/context.js';
import type { SourceRow } from '../app/people.js';
import { authenticate, type Principal } from '../app/tokens.js';
import { rule, unauthenticated } from '../core/errors.js';

/** `Authorization: Bearer <token>` -> the principal in res.locals; 401 with `WWW-Authenticate: Bearer` otherwise. */
export function requireAuth(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    let bearer: string | undefined;
    if (header !== undefined) {
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
      if (!m) throw unauthenticated('The Authorization header must be "Bearer <token>".');
      bearer = m[1];
    }
    res.locals.principal = await authenticate(ctx, bearer);
    next();
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new Error('requireAuth did not run before this handler');
  return p;
}

/** Who acts, in the shape the app layer's permission checks take. */
export function actorOf(p: Principal): { id: string | null; isAdmin: boolean } {
  return { id: p.source?.id ?? null, isAdmin: p.isAdmin };
}

/** The token's own source; the admin token has none. */
export function ownSource(p: Principal, what: string): SourceRow {
  if (!p.source) throw rule(`The admin token acts for no source, so it cannot ${what}; use a person's or a service's token.`);
  return p.source;
}

/** A person behind the token (not a service, not the bare admin token). */
export function ownPerson(p: Principal, what: string): SourceRow {
  const s = ownSource(p, what);
  if (s.kind !== 'person') throw rule(`A service token cannot ${what}; use a person's token.`);
  return s;
}
