import { and, eq } from 'drizzle-orm';
import { invalid } from '../core/errors.js';
import { isValidTimeZone } from '../core/quiet-hours.js';
import type { DigestPeriod, DmPreference, Visibility } from '../core/types.js';
import { follows, sources } from '../db/schema.js';
import { recordConsent, type Via } from './audit.js';
import type { AppContext } from './context.js';
import type { SourceRow } from './people.js';

async function update(ctx: AppContext, personId: string, set: Partial<typeof sources.$inferInsert>, consent: { action: Parameters<typeof recordConsent>[1]['action']; object: string; via: Via; detail?: Record<string, unknown> }): Promise<SourceRow> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.update(sources).set(set).where(eq(sources.id, personId)).returning();
    await recordConsent(tx, { actorId: personId, subjectId: personId, at: now, ...consent });
    return row!;
  });
}

/** Quiet hours in the person's time zone; null clears them. */
export function setQuietHours(ctx: AppContext, personId: string, hours: { start: string; end: string; toDigest?: boolean } | null, via: Via) {
  return update(
    ctx,
    personId,
    hours ? { quietStart: hours.start, quietEnd: hours.end, quietToDigest: hours.toDigest ?? false } : { quietStart: null, quietEnd: null },
    { action: 'quiet', object: hours ? `${hours.start}-${hours.end}` : 'off', via },
  );
}

/**
 * Turning a digest on starts its clock now: the first one goes out at the next scheduled slot,
 * not at once with whatever happened to be queued.
 */
export async function setDigest(ctx: AppContext, personId: string, period: DigestPeriod, at: string | undefined, via: Via) {
  const [current] = await ctx.db.select({ period: sources.digestPeriod }).from(sources).where(eq(sources.id, personId)).limit(1);
  const startsNow = current?.period === 'off' && period !== 'off';
  return update(
    ctx,
    personId,
    { digestPeriod: period, ...(at ? { digestAt: at } : {}), ...(startsNow ? { lastDigestAt: ctx.clock.now() } : {}) },
    { action: 'digest', object: period, via, detail: at ? { at } : {} },
  );
}

export function setDmPreference(ctx: AppContext, personId: string, pref: DmPreference, via: Via) {
  return update(ctx, personId, { dmPreference: pref }, { action: 'dm', object: pref, via });
}

/**
 * `protect on|off`. Going public approves every waiting follow request: nobody is left pending for a
 * source that no longer asks for approval (and each approval is recorded).
 */
export async function setVisibility(ctx: AppContext, personId: string, visibility: Visibility, via: Via) {
  const row = await update(ctx, personId, { visibility }, { action: 'protect', object: visibility === 'protected' ? 'on' : 'off', via });
  if (visibility === 'public') {
    const now = ctx.clock.now();
    await ctx.db.transaction(async (tx) => {
      const approved = await tx
        .update(follows)
        .set({ state: 'active', updatedAt: now })
        .where(and(eq(follows.targetKind, 'source'), eq(follows.target, personId), eq(follows.state, 'pending')))
        .returning();
      for (const f of approved) {
        await recordConsent(tx, { actorId: personId, action: 'approve', subjectId: f.subscriberId, object: `@${row.handle}`, via, at: now, detail: { followId: f.id, reason: 'protect off' } });
      }
    });
  }
  return row;
}

export async function setTimezone(ctx: AppContext, personId: string, tz: string): Promise<void> {
  if (!isValidTimeZone(tz)) throw invalid(`"${tz}" is not a time zone; use a name such as Europe/Berlin.`);
  await ctx.db.update(sources).set({ timezone: tz }).where(eq(sources.id, personId));
}
