import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import { forbidden, invalid } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { consoleSessions, signInLinks, sources } from '../db/schema.js';
import { effectiveAdmin } from './admins.js';
import type { AppContext } from './context.js';
import type { SourceRow } from './people.js';
import { hashToken } from './tokens.js';

/**
 * Web console sign-in (SPEC section 10). `web` in chat mints a one-time link: 32 random bytes, only its
 * SHA-256 stored, valid 10 minutes. Opening it (GET) only shows a confirm button: link previews and mail
 * scanners fetch with GET, so only the POST of that page consumes the link and opens a session.
 * A session is another 32 random bytes in a cookie, stored hashed, ending after 7 days idle or at sign-out.
 */

export const SIGN_IN_LINK_TTL_MS = 10 * 60_000;
export const SESSION_IDLE_MS = 7 * 24 * 3600_000;
/** A session's last use is written at most this often (a page load is not a write every time). */
const TOUCH_EVERY_MS = 60_000;

const secret = () => randomBytes(32).toString('base64url');

/** A link's or session's secret: 43 base64url characters. */
export const isSecretShape = (s: string) => /^[A-Za-z0-9_-]{43}$/.test(s);

export function signInUrl(ctx: Pick<AppContext, 'config'>, token: string): string {
  return `${ctx.config.publicUrl}/sign-in/${token}`;
}

/** A new one-time sign-in link for a person; the URL is shown once, privately. */
export async function createSignInLink(ctx: Pick<AppContext, 'db' | 'clock' | 'config'>, person: SourceRow): Promise<{ url: string; expiresAt: Date }> {
  if (person.kind !== 'person') throw invalid('Only people sign in to the console.');
  const token = secret();
  const now = ctx.clock.now();
  const expiresAt = new Date(now.getTime() + SIGN_IN_LINK_TTL_MS);
  await ctx.db.insert(signInLinks).values({ id: newId(now.getTime()), personId: person.id, hash: hashToken(token), createdAt: now, expiresAt });
  return { url: signInUrl(ctx, token), expiresAt };
}

/** Who a still-usable link signs in (for the confirm page); nothing is consumed. */
export async function peekSignInLink(ctx: Pick<AppContext, 'db' | 'clock'>, token: string): Promise<SourceRow | null> {
  if (!isSecretShape(token)) return null;
  const rows = await ctx.db
    .select({ person: sources })
    .from(signInLinks)
    .innerJoin(sources, eq(sources.id, signInLinks.personId))
    .where(and(eq(signInLinks.hash, hashToken(token)), isNull(signInLinks.usedAt), gt(signInLinks.expiresAt, ctx.clock.now())))
    .limit(1);
  return rows[0]?.person ?? null;
}

/**
 * Consumes the link (once: a concurrent second POST finds it used) and opens a session.
 * Returns the session secret for the cookie.
 */
export async function consumeSignInLink(ctx: Pick<AppContext, 'db' | 'clock'>, token: string): Promise<{ session: string; person: SourceRow }> {
  const gone = forbidden('This sign-in link is used or expired. Type "web" in chat for a new one.');
  if (!isSecretShape(token)) throw gone;
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const [used] = await tx
      .update(signInLinks)
      .set({ usedAt: now })
      .where(and(eq(signInLinks.hash, hashToken(token)), isNull(signInLinks.usedAt), gt(signInLinks.expiresAt, now)))
      .returning({ personId: signInLinks.personId });
    if (!used) throw gone;
    const [person] = await tx.select().from(sources).where(eq(sources.id, used.personId)).limit(1);
    if (!person) throw gone;
    const session = secret();
    await tx.insert(consoleSessions).values({ id: newId(now.getTime()), personId: person.id, hash: hashToken(session), createdAt: now, lastSeenAt: now });
    return { session, person };
  });
}

export interface ConsoleSession {
  id: string;
  person: SourceRow;
  /** The stored flag or ADMIN_HANDLES. */
  isAdmin: boolean;
}

/** The person behind a session cookie, or null (unknown, ended, or idle 7 days). Refreshes its idle clock. */
export async function sessionFor(ctx: Pick<AppContext, 'db' | 'clock' | 'config'>, token: string | undefined): Promise<ConsoleSession | null> {
  if (!token || !isSecretShape(token)) return null;
  const now = ctx.clock.now();
  const rows = await ctx.db
    .select({ s: consoleSessions, person: sources })
    .from(consoleSessions)
    .innerJoin(sources, eq(sources.id, consoleSessions.personId))
    .where(and(eq(consoleSessions.hash, hashToken(token)), isNull(consoleSessions.endedAt), gt(consoleSessions.lastSeenAt, new Date(now.getTime() - SESSION_IDLE_MS))))
    .limit(1);
  const row = rows[0];
  if (!row) return null;
  if (now.getTime() - row.s.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await ctx.db.update(consoleSessions).set({ lastSeenAt: now }).where(eq(consoleSessions.id, row.s.id));
  }
  return { id: row.s.id, person: row.person, isAdmin: effectiveAdmin(ctx.config, row.person) };
}

/** Sign-out: the session ends now, whatever the cookie does. */
export async function endSession(ctx: Pick<AppContext, 'db' | 'clock'>, sessionId: string): Promise<void> {
  await ctx.db.update(consoleSessions).set({ endedAt: ctx.clock.now() }).where(and(eq(consoleSessions.id, sessionId), isNull(consoleSessions.endedAt)));
}

/** Housekeeping: links and sessions nobody can use any more. */
export async function pruneSignIns(ctx: Pick<AppContext, 'db' | 'clock'>): Promise<void> {
  const now = ctx.clock.now().getTime();
  await ctx.db.delete(signInLinks).where(lt(signInLinks.expiresAt, new Date(now - 24 * 3600_000)));
  await ctx.db.delete(consoleSessions).where(lt(consoleSessions.lastSeenAt, new Date(now - 2 * SESSION_IDLE_MS)));
}
