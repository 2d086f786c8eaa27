import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { forbidden, invalid, notFound, unauthenticated } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { preparedFor } from '../db/prepared.js';
import { serviceOwners, sources, tokens } from '../db/schema.js';
import { effectiveAdmin } from './admins.js';
import type { AppContext } from './context.js';
import { mayActAs, type SourceRow } from './people.js';

/** Only the SHA-256 of a token is stored; a token is 32 random bytes, so a fast hash is enough. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of two secrets of any length (compares their digests). */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

const mint = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

export async function createApiToken(ctx: Pick<AppContext, 'db'>, sourceId: string, createdBy?: string | null, expiresAt?: Date): Promise<string> {
  const token = mint('tp_');
  await ctx.db.insert(tokens).values({ id: newId(), sourceId, kind: 'api', hash: hashToken(token), createdBy: createdBy ?? null, expiresAt: expiresAt ?? null });
  return token;
}

/** A new incoming-hook URL for a service: the token alone authorises posting as it. */
export async function createHookUrl(ctx: Pick<AppContext, 'db' | 'config'>, service: SourceRow, createdBy?: string | null): Promise<string> {
  if (service.kind !== 'service') throw invalid(`@${service.handle} is a person; incoming hooks are for services.`);
  const token = mint('th_');
  await ctx.db.insert(tokens).values({ id: newId(), sourceId: service.id, kind: 'hook', hash: hashToken(token), createdBy: createdBy ?? null });
  return `${ctx.config.publicUrl}/hooks/${token}`;
}

export async function revokeToken(ctx: Pick<AppContext, 'db'>, tokenId: string): Promise<void> {
  await ctx.db.update(tokens).set({ revokedAt: new Date() }).where(eq(tokens.id, tokenId));
}

export type Principal =
  /** ADMIN_TOKEN: acts as an administrator with no source of its own. */
  | { kind: 'admin'; tokenId: 'admin'; source: null; isAdmin: true }
  | { kind: 'source'; tokenId: string; source: SourceRow; isAdmin: boolean };

/** A token by its hash, with its source: prepared, as it runs on every API request. */
const tokenByHash = preparedFor((db) =>
  db
    .select({ token: tokens, source: sources })
    .from(tokens)
    .innerJoin(sources, eq(sources.id, tokens.sourceId))
    .where(and(eq(tokens.hash, sql.placeholder('hash')), eq(tokens.kind, sql.placeholder('kind')), isNull(tokens.revokedAt)))
    .limit(1)
    .prepare('tp_token_by_hash'),
);

async function lookup(ctx: Pick<AppContext, 'db' | 'clock'>, secret: string, kind: 'api' | 'hook') {
  const rows = await tokenByHash(ctx.db).execute({ hash: hashToken(secret), kind });
  const row = rows[0];
  if (!row) return null;
  const now = ctx.clock.now();
  if (row.token.expiresAt && row.token.expiresAt.getTime() <= now.getTime()) return null;
  // "Last used" for the tokens page, written at most once a minute per token.
  if (!row.token.lastUsedAt || now.getTime() - row.token.lastUsedAt.getTime() > 60_000) {
    await ctx.db.update(tokens).set({ lastUsedAt: now }).where(eq(tokens.id, row.token.id));
  }
  return row;
}

/** Resolves a bearer token: ADMIN_TOKEN (constant-time), or a stored API token by its hash. */
export async function authenticate(ctx: Pick<AppContext, 'db' | 'clock' | 'config'>, bearer: string | undefined): Promise<Principal> {
  if (!bearer) throw unauthenticated('This endpoint needs a bearer token: Authorization: Bearer tp_...');
  const admin = ctx.config.adminToken;
  if (admin && secretsEqual(bearer, admin)) return { kind: 'admin', tokenId: 'admin', source: null, isAdmin: true };
  const row = await lookup(ctx, bearer, 'api');
  if (!row) throw unauthenticated('The bearer token is not valid (unknown, revoked or expired).');
  return { kind: 'source', tokenId: row.token.id, source: row.source, isAdmin: effectiveAdmin(ctx.config, row.source) };
}

export async function authenticateHook(ctx: Pick<AppContext, 'db' | 'clock'>, secret: string): Promise<{ tokenId: string; service: SourceRow }> {
  const row = secret.startsWith('th_') ? await lookup(ctx, secret, 'hook') : null;
  if (!row) throw unauthenticated('Unknown or revoked hook URL.');
  return { tokenId: row.token.id, service: row.source };
}

export function requireAdmin(p: Principal): void {
  if (!p.isAdmin) throw forbidden('Only an administrator may do this.');
}

export type TokenRow = typeof tokens.$inferSelect;

export interface TokenListing {
  id: string;
  kind: 'api' | 'hook';
  /** The handle the token acts as. */
  subject: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}

/**
 * The tokens a person manages, never their secrets: their own and those of the services they own
 * (admins with no source of their own, via ADMIN_TOKEN: every token). Revoked ones are not listed.
 * Newest first, keyset-paginated by id.
 */
export async function listTokens(ctx: Pick<AppContext, 'db'>, owner: { id: string | null; isAdmin: boolean }, page: { limit: number; before?: string | undefined }, onlySourceId?: string) {
  const where: SQL[] = [isNull(tokens.revokedAt)];
  if (onlySourceId) where.push(eq(tokens.sourceId, onlySourceId));
  else if (owner.id) {
    const owned = ctx.db.select({ id: serviceOwners.serviceId }).from(serviceOwners).where(eq(serviceOwners.personId, owner.id));
    where.push(or(eq(tokens.sourceId, owner.id), inArray(tokens.sourceId, owned))!);
  } else if (!owner.isAdmin) where.push(sql`false`);
  if (page.before) where.push(lt(tokens.id, page.before));
  const rows = await ctx.db
    .select({ t: tokens, handle: sources.handle })
    .from(tokens)
    .innerJoin(sources, eq(sources.id, tokens.sourceId))
    .where(and(...where))
    .orderBy(desc(tokens.id))
    .limit(page.limit + 1);
  const items: TokenListing[] = rows.slice(0, page.limit).map((r) => ({
    id: r.t.id,
    kind: r.t.kind,
    subject: r.handle,
    createdAt: r.t.createdAt,
    lastUsedAt: r.t.lastUsedAt,
    expiresAt: r.t.expiresAt,
  }));
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/** Revokes one token the actor may manage (theirs, a service's they own, or any for an admin). Unknown or revoked: 404. */
export async function revokeOwnToken(ctx: Pick<AppContext, 'db'>, actor: { id: string | null; isAdmin: boolean }, tokenId: string): Promise<void> {
  const [t] = await ctx.db.select().from(tokens).where(and(eq(tokens.id, tokenId), isNull(tokens.revokedAt))).limit(1);
  if (!t) throw notFound(`No token ${tokenId}.`);
  if (!(await mayActAs(ctx.db, actor, t.sourceId))) throw forbidden('Only the owner of this token (or an admin) may revoke it.');
  await revokeToken(ctx, t.id);
}
