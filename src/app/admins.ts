import { eq } from 'drizzle-orm';
import { rule } from '../core/errors.js';
import { sources } from '../db/schema.js';
import type { Config } from '../config.js';
import { recordConsent, type Via } from './audit.js';
import type { AppContext } from './context.js';
import { requireSource, type SourceRow } from './people.js';

/**
 * Administrators among people: the stored `is_admin` flag (set by `admin grant`, recorded in the consent
 * record) or ADMIN_HANDLES, which always wins: a listed handle is an admin whatever the flag says, and
 * `admin revoke` refuses it.
 */

export function isListedAdmin(config: Pick<Config, 'adminHandles'>, handle: string): boolean {
  return config.adminHandles.includes(handle.toLowerCase());
}

export function effectiveAdmin(config: Pick<Config, 'adminHandles'>, source: Pick<SourceRow, 'kind' | 'handle' | 'isAdmin'>): boolean {
  return source.isAdmin || (source.kind === 'person' && isListedAdmin(config, source.handle));
}

export interface AdminChange {
  person: SourceRow;
  /** False when the person already had (or already lacked) the flag. */
  changed: boolean;
}

async function setAdmin(ctx: Pick<AppContext, 'db' | 'clock'>, person: SourceRow, isAdmin: boolean, actorId: string | null, via: Via, detail: Record<string, unknown> = {}): Promise<AdminChange> {
  if (person.isAdmin === isAdmin) return { person, changed: false };
  const now = ctx.clock.now();
  const row = await ctx.db.transaction(async (tx) => {
    const [u] = await tx.update(sources).set({ isAdmin }).where(eq(sources.id, person.id)).returning();
    await recordConsent(tx, { actorId, action: isAdmin ? 'admin_grant' : 'admin_revoke', subjectId: person.id, object: `@${person.handle}`, via, at: now, detail });
    return u!;
  });
  return { person: row, changed: true };
}

async function requirePerson(ctx: Pick<AppContext, 'db'>, handle: string): Promise<SourceRow> {
  const s = await requireSource(ctx, handle);
  if (s.kind !== 'person') throw rule(`@${s.handle} is a service; only people can be administrators.`);
  return s;
}

/** `admin grant @alice`: the stored flag, recorded in the consent record. */
export async function grantAdmin(ctx: Pick<AppContext, 'db' | 'clock'>, handle: string, actorId: string | null, via: Via): Promise<AdminChange> {
  return setAdmin(ctx, await requirePerson(ctx, handle), true, actorId, via);
}

/** `admin revoke @alice`; refused with a sentence for a handle listed in ADMIN_HANDLES. */
export async function revokeAdmin(ctx: Pick<AppContext, 'db' | 'clock' | 'config'>, handle: string, actorId: string | null, via: Via): Promise<AdminChange> {
  const person = await requirePerson(ctx, handle);
  if (isListedAdmin(ctx.config, person.handle)) {
    throw rule(`@${person.handle} is listed in ADMIN_HANDLES, which always wins: remove the handle from ADMIN_HANDLES and restart to revoke it.`);
  }
  return setAdmin(ctx, person, false, actorId, via);
}

/**
 * At start: every existing person listed in ADMIN_HANDLES gets the stored flag (recorded once, via
 * `config`), so chat commands, which read the flag, agree with the console and the API.
 */
export async function applyAdminHandles(ctx: Pick<AppContext, 'db' | 'clock' | 'config'>): Promise<void> {
  for (const handle of ctx.config.adminHandles) {
    const [s] = await ctx.db.select().from(sources).where(eq(sources.handle, handle)).limit(1);
    if (s && s.kind === 'person' && !s.isAdmin) await setAdmin(ctx, s, true, null, 'config', { reason: 'ADMIN_HANDLES' });
  }
}
