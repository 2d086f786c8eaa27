import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { rule } from '../core/errors.js';
import type { DbOrTx } from '../db/client.js';
import { smsNumbers } from '../db/schema.js';
import { recordConsent, type Via } from './audit.js';
import type { AppContext } from './context.js';

/**
 * A person's phone number (SPEC section 9): added with `phone +E164`, verified by a 6-digit code texted
 * to it (only its SHA-256 is stored; 5 tries, 10 minutes), removed with `phone off`. STOP by text (or
 * the provider's opt-out) stops every text to it until START. Every step is in the consent record,
 * object `sms:<number>`.
 */

export type PhoneRow = typeof smsNumbers.$inferSelect;

export const E164 = /^\+[1-9]\d{6,14}$/;
export const CODE_TTL_MS = 10 * 60_000;
export const CODE_TRIES = 5;

const hashCode = (number: string, code: string) => createHash('sha256').update(`tp-sms:${number}:${code}`).digest('hex');

export async function phoneOf(db: DbOrTx, personId: string): Promise<PhoneRow | null> {
  return (await db.select().from(smsNumbers).where(eq(smsNumbers.personId, personId)).limit(1))[0] ?? null;
}

export async function phoneByNumber(db: DbOrTx, number: string): Promise<PhoneRow | null> {
  return (await db.select().from(smsNumbers).where(eq(smsNumbers.number, number)).limit(1))[0] ?? null;
}

/** Receives texts: verified and not stopped. */
export const reachable = (p: PhoneRow | null): p is PhoneRow => !!p && p.verifiedAt !== null && p.stoppedAt === null;

/** A code is waiting for this number. */
export const codePending = (p: PhoneRow | null, now: Date): boolean =>
  !!p && p.verifiedAt === null && p.codeHash !== null && p.codeExpiresAt !== null && p.codeExpiresAt > now && p.codeTries < CODE_TRIES;

/**
 * Starts (or restarts) verification of `number` for a person and returns the code to text. A number
 * verified by someone else is refused; one merely pending for someone else is taken over (the
 * phone's owner is who can read the code).
 */
export async function startPhoneVerification(ctx: AppContext, personId: string, number: string, via: Via): Promise<{ code: string; row: PhoneRow }> {
  if (!E164.test(number)) throw rule('A phone number is + and the country code, e.g. +15551234567.', 'phone +15551234567');
  const now = ctx.clock.now();
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const row = await ctx.db.transaction(async (tx) => {
    const holder = (await tx.select().from(smsNumbers).where(eq(smsNumbers.number, number)).limit(1).for('update'))[0];
    if (holder && holder.personId !== personId) {
      if (holder.verifiedAt) throw rule('That number is already verified by someone else.', 'phone +15551234567');
      await tx.delete(smsNumbers).where(and(eq(smsNumbers.personId, holder.personId), isNull(smsNumbers.verifiedAt)));
    }
    const fields = { number, verifiedAt: null, codeHash: hashCode(number, code), codeExpiresAt: new Date(now.getTime() + CODE_TTL_MS), codeTries: 0, stoppedAt: null, waiting: {}, summaryDeliveryId: null, updatedAt: now };
    const [r] = await tx
      .insert(smsNumbers)
      .values({ personId, ...fields, createdAt: now })
      .onConflictDoUpdate({ target: smsNumbers.personId, set: fields })
      .returning();
    await recordConsent(tx, { actorId: personId, action: 'phone', subjectId: personId, object: `sms:${number}`, via, detail: { step: 'code sent' }, at: now });
    return r!;
  });
  return { code, row };
}

export type CodeCheck = 'verified' | 'wrong' | 'expired' | 'too many tries' | 'none';

/** A 6-digit text from `number`: the code while one is pending. */
export async function checkPhoneCode(ctx: AppContext, number: string, code: string): Promise<{ result: CodeCheck; triesLeft: number }> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const p = (await tx.select().from(smsNumbers).where(eq(smsNumbers.number, number)).limit(1).for('update'))[0];
    if (!p || p.verifiedAt || !p.codeHash || !p.codeExpiresAt) return { result: 'none' as const, triesLeft: 0 };
    const clear = { codeHash: null, codeExpiresAt: null, updatedAt: now };
    if (p.codeExpiresAt <= now) {
      await tx.update(smsNumbers).set(clear).where(eq(smsNumbers.personId, p.personId));
      return { result: 'expired' as const, triesLeft: 0 };
    }
    if (p.codeTries >= CODE_TRIES) return { result: 'too many tries' as const, triesLeft: 0 };
    const given = Buffer.from(hashCode(number, code));
    const expected = Buffer.from(p.codeHash);
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      await tx.update(smsNumbers).set({ ...clear, verifiedAt: now, codeTries: 0, stoppedAt: null }).where(eq(smsNumbers.personId, p.personId));
      await recordConsent(tx, { actorId: p.personId, action: 'phone', subjectId: p.personId, object: `sms:${number}`, via: 'sms', detail: { step: 'verified' }, at: now });
      return { result: 'verified' as const, triesLeft: 0 };
    }
    const tries = p.codeTries + 1;
    await tx
      .update(smsNumbers)
      .set({ codeTries: tries, updatedAt: now, ...(tries >= CODE_TRIES ? { codeHash: null, codeExpiresAt: null } : {}) })
      .where(eq(smsNumbers.personId, p.personId));
    return tries >= CODE_TRIES ? { result: 'too many tries' as const, triesLeft: 0 } : { result: 'wrong' as const, triesLeft: CODE_TRIES - tries };
  });
}

/** `phone off`: the number is forgotten; nothing is texted to the person any more. */
export async function removePhone(ctx: AppContext, personId: string, via: Via): Promise<PhoneRow | null> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const [r] = await tx.delete(smsNumbers).where(eq(smsNumbers.personId, personId)).returning();
    if (r) await recordConsent(tx, { actorId: personId, action: 'phone', subjectId: personId, object: `sms:${r.number}`, via, detail: { step: 'removed' }, at: now });
    return r ?? null;
  });
}

/**
 * STOP (every SMS route of the number off) or START (on again), by text or from the provider's own
 * opt-out (Twilio error 21610). Recorded only when it changes something.
 */
export async function setSmsStopped(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  number: string,
  stopped: boolean,
  how: { via: Via; reason: string },
): Promise<PhoneRow | null> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const p = (await tx.select().from(smsNumbers).where(eq(smsNumbers.number, number)).limit(1).for('update'))[0];
    if (!p) return null;
    if ((p.stoppedAt !== null) === stopped) return p;
    const [r] = await tx
      .update(smsNumbers)
      .set({ stoppedAt: stopped ? now : null, updatedAt: now, ...(stopped ? { waiting: {}, summaryDeliveryId: null } : {}) })
      .where(eq(smsNumbers.personId, p.personId))
      .returning();
    await recordConsent(tx, {
      actorId: p.personId,
      action: stopped ? 'sms_stop' : 'sms_start',
      subjectId: p.personId,
      object: `sms:${number}`,
      via: how.via,
      detail: { reason: how.reason },
      at: now,
    });
    return r ?? p;
  });
}
