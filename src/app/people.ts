import { and, eq, inArray, sql } from 'drizzle-orm';
import { conflict, invalid, notFound } from '../core/errors.js';
import { handleCandidates, handleFromEmail, isHandle, parseHandle } from '../core/handles.js';
import { newId } from '../core/ids.js';
import { isValidTimeZone } from '../core/quiet-hours.js';
import type { ChatPlatform } from '../core/types.js';
import type { DbOrTx } from '../db/client.js';
import { identities, serviceOwners, sources } from '../db/schema.js';
import type { AppContext } from './context.js';
import { canActAs } from '../core/permissions.js';

export type SourceRow = typeof sources.$inferSelect;
export type IdentityRow = typeof identities.$inferSelect;

export async function getSourceByHandle(ctx: Pick<AppContext, 'db'>, handle: string): Promise<SourceRow | null> {
  const rows = await ctx.db.select().from(sources).where(eq(sources.handle, handle.toLowerCase())).limit(1);
  return rows[0] ?? null;
}

export async function getSourceById(db: DbOrTx, id: string): Promise<SourceRow | null> {
  const rows = await db.select().from(sources).where(eq(sources.id, id)).limit(1);
  return rows[0] ?? null;
}

/** A source by `@handle`, or a not_found error that says what to try. */
export async function requireSource(ctx: Pick<AppContext, 'db'>, raw: string): Promise<SourceRow> {
  const handle = parseHandle(raw, 'whois @handle');
  const s = await getSourceByHandle(ctx, handle);
  if (!s) throw notFound(`@${handle} is not a known handle.`, 'whois @handle');
  return s;
}

/** True when `personId` is the source itself or one of its owners. */
export async function isOwnerOf(db: DbOrTx, sourceId: string, personId: string): Promise<boolean> {
  if (sourceId === personId) return true;
  const rows = await db
    .select({ one: sql`1` })
    .from(serviceOwners)
    .where(and(eq(serviceOwners.serviceId, sourceId), eq(serviceOwners.personId, personId)))
    .limit(1);
  return rows.length > 0;
}

/**
 * Whether the actor may post as, manage or decide for the source: the core rule (`canActAs`: itself, an
 * owner, or an admin) with the facts read from the database. Every "act as" check goes through here.
 */
export async function mayActAs(db: DbOrTx, actor: { id: string | null; isAdmin: boolean }, sourceId: string): Promise<boolean> {
  const isSelf = actor.id === sourceId;
  const isOwner = !isSelf && !actor.isAdmin && !!actor.id && (await isOwnerOf(db, sourceId, actor.id));
  return canActAs({ isSelf, isOwner, isAdmin: actor.isAdmin });
}

/** The people who decide for a source: the person itself, or a service's owners. */
export async function ownerIdsOf(db: DbOrTx, source: Pick<SourceRow, 'id' | 'kind'>): Promise<string[]> {
  if (source.kind === 'person') return [source.id];
  const rows = await db.select({ id: serviceOwners.personId }).from(serviceOwners).where(eq(serviceOwners.serviceId, source.id));
  return rows.map((r) => r.id);
}

export async function handlesOf(db: DbOrTx, ids: string[]): Promise<string[]> {
  if (!ids.length) return [];
  const rows = await db.select({ handle: sources.handle }).from(sources).where(inArray(sources.id, ids));
  return rows.map((r) => r.handle).sort();
}

/** The first free handle from `base` (base, base2, base3...). */
export async function freeHandle(db: DbOrTx, base: string): Promise<string> {
  for (const candidate of handleCandidates(base)) {
    const taken = await db.select({ id: sources.id }).from(sources).where(eq(sources.handle, candidate)).limit(1);
    if (!taken.length) return candidate;
  }
  throw new Error('unreachable');
}

const EMAIL_RE = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

export function normaliseEmail(raw: string): string {
  const e = raw.trim().toLowerCase();
  if (!EMAIL_RE.test(e) || e.length > 254) throw invalid(`"${raw}" is not an email address.`);
  return e;
}

export interface NewPerson {
  handle?: string;
  name: string;
  email: string;
  timezone?: string;
  isAdmin?: boolean;
}

export async function createPerson(ctx: Pick<AppContext, 'db'>, p: NewPerson): Promise<SourceRow> {
  const email = normaliseEmail(p.email);
  const name = p.name.trim();
  if (!name || name.length > 100) throw invalid('name must be 1 to 100 characters.');
  return ctx.db.transaction(async (tx) => {
    const byEmail = await tx.select({ id: sources.id }).from(sources).where(eq(sources.email, email)).limit(1);
    if (byEmail.length) throw conflict(`A person with email ${email} already exists.`);
    let handle: string;
    if (p.handle !== undefined) {
      handle = parseHandle(p.handle);
      const taken = await tx.select({ id: sources.id }).from(sources).where(eq(sources.handle, handle)).limit(1);
      if (taken.length) throw conflict(`The handle @${handle} is taken.`);
    } else {
      handle = await freeHandle(tx, handleFromEmail(email));
    }
    const [row] = await tx
      .insert(sources)
      .values({
        id: newId(),
        handle,
        kind: 'person',
        name,
        email,
        timezone: p.timezone && isValidTimeZone(p.timezone) ? p.timezone : 'UTC',
        isAdmin: p.isAdmin ?? false,
      })
      .returning();
    return row!;
  });
}

export interface IdentityInput {
  platform: ChatPlatform;
  tenant: string;
  externalId: string;
  email?: string | null;
  name: string;
  timezone?: string | null;
  data?: Record<string, unknown>;
  /**
   * The person spoke to the app (default). False when they are only mentioned or looked up:
   * where they last spoke to the app, which decides where their DMs go, stays as it was.
   */
  touch?: boolean;
}

const isUniqueViolation = (e: unknown) =>
  typeof e === 'object' && e !== null && ((e as { code?: string }).code === '23505' || (e as { cause?: { code?: string } }).cause?.code === '23505');

/**
 * The person behind a chat account: found by the identity, else by verified email (so a person on
 * Slack and on Teams is one person), else created with a handle made from the email.
 * Also records that they last spoke to the app on this platform.
 */
export async function linkIdentity(ctx: Pick<AppContext, 'db'>, input: IdentityInput): Promise<SourceRow> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await linkOnce(ctx.db, input);
    } catch (e) {
      // Two first messages from the same new user at once: the loser re-reads the winner's rows.
      if (attempt < 2 && isUniqueViolation(e)) continue;
      throw e;
    }
  }
}

async function linkOnce(db: AppContext['db'], input: IdentityInput): Promise<SourceRow> {
  return db.transaction(async (tx) => {
    const tz = input.timezone && isValidTimeZone(input.timezone) ? input.timezone : undefined;
    const existing = await tx
      .select()
      .from(identities)
      .where(and(eq(identities.platform, input.platform), eq(identities.tenant, input.tenant), eq(identities.externalId, input.externalId)))
      .limit(1);
    const now = new Date();
    if (existing[0]) {
      const idn = existing[0];
      if (input.data) {
        await tx.update(identities).set({ data: { ...idn.data, ...input.data }, updatedAt: now }).where(eq(identities.id, idn.id));
      }
      return touchPerson(tx, idn.personId, { ...(input.touch === false ? {} : { lastPlatform: input.platform }), ...(tz ? { timezone: tz } : {}) });
    }
    let email: string | null = null;
    if (input.email) {
      try {
        email = normaliseEmail(input.email);
      } catch {
        email = null;
      }
    }
    let person: SourceRow | undefined;
    if (email) {
      person = (await tx.select().from(sources).where(and(eq(sources.email, email), eq(sources.kind, 'person'))).limit(1))[0];
    }
    if (!person) {
      const base = email ? handleFromEmail(email) : handleFromName(input.name);
      const handle = await freeHandle(tx, base);
      person = (
        await tx
          .insert(sources)
          .values({ id: newId(), handle, kind: 'person', name: input.name.trim().slice(0, 100) || handle, email, timezone: tz ?? 'UTC' })
          .returning()
      )[0]!;
    }
    await tx.insert(identities).values({
      id: newId(),
      personId: person.id,
      platform: input.platform,
      tenant: input.tenant,
      externalId: input.externalId,
      data: input.data ?? {},
    });
    return touchPerson(tx, person.id, { ...(input.touch === false && person.lastPlatform ? {} : { lastPlatform: input.platform }), ...(tz ? { timezone: tz } : {}) });
  });
}

async function touchPerson(tx: DbOrTx, id: string, set: Partial<typeof sources.$inferInsert>): Promise<SourceRow> {
  if (Object.keys(set).length === 0) return (await getSourceById(tx, id))!;
  const [row] = await tx.update(sources).set(set).where(eq(sources.id, id)).returning();
  return row!;
}

function handleFromName(name: string): string {
  const h = handleFromEmail(`${name.replace(/\s+/g, '.')}@x`);
  return isHandle(h) ? h : 'user';
}

export async function findIdentity(
  ctx: Pick<AppContext, 'db'>,
  platform: ChatPlatform,
  tenant: string,
  externalId: string,
): Promise<{ identity: IdentityRow; person: SourceRow } | null> {
  const rows = await ctx.db
    .select({ identity: identities, person: sources })
    .from(identities)
    .innerJoin(sources, eq(sources.id, identities.personId))
    .where(and(eq(identities.platform, platform), eq(identities.tenant, tenant), eq(identities.externalId, externalId)))
    .limit(1);
  return rows[0] ?? null;
}

export async function identitiesOf(db: DbOrTx, personId: string): Promise<IdentityRow[]> {
  return db.select().from(identities).where(eq(identities.personId, personId));
}

/** Merges platform data (DM channel id, conversation reference) into a stored identity. */
export async function updateIdentityData(db: DbOrTx, identityId: string, data: Record<string, unknown>): Promise<void> {
  await db
    .update(identities)
    .set({ data: sql`${identities.data} || ${JSON.stringify(data)}::jsonb`, updatedAt: new Date() })
    .where(eq(identities.id, identityId));
}
