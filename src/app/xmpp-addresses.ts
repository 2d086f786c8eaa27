import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import { USAGE } from '../core/commands/usage.js';
import { DomainError, forbidden, notFound, rule } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { bareJid } from '../core/jid.js';
import { addRoute, removeRoute } from '../core/routes.js';
import type { DbOrTx } from '../db/client.js';
import { follows, sources, xmppAddresses, xmppLinkCodes } from '../db/schema.js';
import { recordConsent } from './audit.js';
import type { AppContext } from './context.js';
import { findFollow, follow, removeFollow, type FollowRow, type Subscriber, type TargetSpec } from './follows.js';
import { writeOutbox } from './outbox.js';
import { getSourceById, getSourceByHandle, type SourceRow } from './people.js';

/**
 * XMPP addresses as subscribers and as a door for commands (SPEC section 8). An address that is not
 * linked to a person is a subscriber of its own (kind `xmpp`, id = the bare JID); once `confirm`
 * links it, it acts as the person.
 */

/** How long a link code lives, and how many wrong answers void it. */
export const LINK_CODE_TTL_MS = 15 * 60 * 1000;
export const LINK_CODE_MAX_ATTEMPTS = 5;
/** At most this many codes waiting per person (a flood of `link xmpp` must not spam an address). */
const MAX_OPEN_CODES = 3;

const hashCode = (code: string) => createHash('sha256').update(`tp-xmpp-link:${code}`).digest();

/** The person an address is linked to, if any. */
export async function linkedPerson(db: DbOrTx, jid: string): Promise<SourceRow | null> {
  const [row] = await db
    .select({ s: sources })
    .from(xmppAddresses)
    .innerJoin(sources, eq(sources.id, xmppAddresses.personId))
    .where(eq(xmppAddresses.jid, jid))
    .limit(1);
  return row?.s ?? null;
}

/** The bare JIDs linked to a person (where route `xmpp` delivers for them). */
export async function jidsOf(db: DbOrTx, personId: string): Promise<string[]> {
  const rows = await db.select({ jid: xmppAddresses.jid }).from(xmppAddresses).where(eq(xmppAddresses.personId, personId));
  return rows.map((r) => r.jid);
}

export async function noteAddress(db: DbOrTx, jid: string, at: Date): Promise<void> {
  await db.insert(xmppAddresses).values({ jid, createdAt: at }).onConflictDoNothing();
}

export type SubscribeOutcome =
  /** Following now: answer `subscribed`. */
  | { kind: 'subscribed' }
  /** A protected source's request, waiting for its owners: answered later. */
  | { kind: 'pending' }
  /** No such source, or it does not accept this address: answer `unsubscribed`. */
  | { kind: 'refused'; reason: string };

/**
 * Presence `subscribe` to `<handle>@XMPP_DOMAIN` is the opt-in: a follow with route `xmpp` (added to the
 * routes of the person's existing follow once the address is linked). Repeating it changes nothing.
 */
export async function subscribeByPresence(ctx: AppContext, jid: string, handle: string): Promise<SubscribeOutcome> {
  const source = await getSourceByHandle(ctx, handle);
  if (!source) return { kind: 'refused', reason: 'unknown handle' };
  await noteAddress(ctx.db, jid, ctx.clock.now());
  const person = await linkedPerson(ctx.db, jid);
  const target: TargetSpec = { kind: 'source', value: source.id, label: `@${source.handle}`, source };
  const subscriber: Subscriber = person ? { kind: 'person', id: person.id } : { kind: 'xmpp', id: jid };
  const existing = await findFollow(ctx.db, subscriber, target);
  if (existing && (!person || existing.route.split('+').includes('xmpp'))) {
    return existing.state === 'pending' ? { kind: 'pending' } : { kind: 'subscribed' };
  }
  const route = person && existing ? addRoute(existing.route, 'xmpp') : 'xmpp';
  try {
    const r = await follow(ctx, {
      subscriber,
      actor: { id: person?.id ?? null, isAdmin: person?.isAdmin ?? false },
      target,
      route,
      ...(existing ? { filters: existing.filters } : {}),
      via: 'xmpp',
    });
    return r.pending ? { kind: 'pending' } : { kind: 'subscribed' };
  } catch (err) {
    if (err instanceof DomainError) return { kind: 'refused', reason: err.message };
    throw err;
  }
}

/** Presence `unsubscribe` (the contact was removed): the follow ends, or loses its `xmpp` route. */
export async function unsubscribeByPresence(ctx: AppContext, jid: string, handle: string): Promise<boolean> {
  const source = await getSourceByHandle(ctx, handle);
  if (!source) return false;
  const person = await linkedPerson(ctx.db, jid);
  const target = { kind: 'source' as const, value: source.id };
  const label = `@${source.handle}`;
  if (!person) {
    const f = await findFollow(ctx.db, { kind: 'xmpp', id: jid }, target);
    if (!f) return false;
    await removeFollow(ctx, f, null, 'xmpp', label);
    return true;
  }
  const f = await findFollow(ctx.db, { kind: 'person', id: person.id }, target);
  if (!f || !f.route.split('+').includes('xmpp')) return false;
  const rest = removeRoute(f.route, 'xmpp');
  if (rest === null) {
    await removeFollow(ctx, f, person.id, 'xmpp', label);
    return true;
  }
  await follow(ctx, { subscriber: { kind: 'person', id: person.id }, actor: person, target: { ...target, label, source }, route: rest, filters: f.filters, via: 'xmpp' });
  return true;
}

/** Whether the address receives `handle` (so the component answers its presence probe as online). */
export async function isSubscribed(ctx: Pick<AppContext, 'db'>, jid: string, handle: string): Promise<boolean> {
  const source = await getSourceByHandle(ctx, handle);
  if (!source) return false;
  const person = await linkedPerson(ctx.db, jid);
  const f = await findFollow(ctx.db, person ? { kind: 'person', id: person.id } : { kind: 'xmpp', id: jid }, { kind: 'source', value: source.id });
  return !!f && f.state !== 'pending' && (!person || f.route.split('+').includes('xmpp'));
}

/**
 * `link xmpp <jid>` from Slack or Teams: a code goes to the address (through the outbox, on route
 * `xmpp`); the address answers `confirm <code>`. Only the code's hash is kept.
 */
export async function startLink(ctx: AppContext, person: SourceRow, rawJid: string): Promise<{ jid: string; alreadyLinked: boolean }> {
  if (!ctx.config.xmpp) throw rule('XMPP is not configured on this server.');
  const jid = bareJid(rawJid);
  if (!jid) throw rule(`"${rawJid.slice(0, 40)}" is not an XMPP address: write it as name@domain.`, USAGE.link.usage);
  const owner = await linkedPerson(ctx.db, jid);
  if (owner?.id === person.id) return { jid, alreadyLinked: true };
  if (owner) throw forbidden(`${jid} is linked to someone else.`);
  const now = ctx.clock.now();
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  await ctx.db.transaction(async (tx) => {
    const open = await tx
      .select({ id: xmppLinkCodes.id })
      .from(xmppLinkCodes)
      .where(and(eq(xmppLinkCodes.personId, person.id), gt(xmppLinkCodes.expiresAt, now)));
    if (open.length >= MAX_OPEN_CODES) throw rule('You asked for several codes already: use one of them, or try again in 15 minutes.');
    // A new code replaces an older one for the same address.
    await tx.delete(xmppLinkCodes).where(and(eq(xmppLinkCodes.personId, person.id), eq(xmppLinkCodes.jid, jid)));
    const id = newId(now.getTime());
    await tx.insert(xmppLinkCodes).values({ id, personId: person.id, jid, hash: hashCode(code).toString('hex'), createdAt: now, expiresAt: new Date(now.getTime() + LINK_CODE_TTL_MS) });
    await writeOutbox(tx, { event: 'xmpp.notice', payload: { jid, notice: { kind: 'link_code', code, personHandle: person.handle }, key: `link:${id}` } });
  });
  ctx.kick();
  return { jid, alreadyLinked: false };
}

/**
 * `confirm <code>` from the address. The right code links it to the person who asked: the address's
 * follows become theirs, with route `xmpp` added to any follow of the same target they already had.
 * A wrong code counts against every code waiting for the address; the fifth voids them.
 */
export async function confirmLink(ctx: AppContext, jid: string, code: string): Promise<SourceRow> {
  const now = ctx.clock.now();
  const waiting = await ctx.db
    .select()
    .from(xmppLinkCodes)
    .where(and(eq(xmppLinkCodes.jid, jid), gt(xmppLinkCodes.expiresAt, now)));
  const given = hashCode(code);
  const match = waiting.find((c) => c.attempts < LINK_CODE_MAX_ATTEMPTS && timingSafeEqual(Buffer.from(c.hash, 'hex'), given));
  if (!match) {
    if (waiting.length) {
      await ctx.db
        .update(xmppLinkCodes)
        .set({ attempts: sql`${xmppLinkCodes.attempts} + 1` })
        .where(inArray(xmppLinkCodes.id, waiting.map((c) => c.id)));
    }
    throw rule('That code is not right (or it expired). Ask for a new one with "link xmpp <jid>" in Slack or Teams.', USAGE.confirm.usage);
  }
  const person = await getSourceById(ctx.db, match.personId);
  if (!person) throw notFound('The person who asked for this code is gone.');
  await ctx.db.transaction(async (tx) => {
    await tx
      .insert(xmppAddresses)
      .values({ jid, personId: person.id, linkedAt: now, createdAt: now })
      .onConflictDoUpdate({ target: xmppAddresses.jid, set: { personId: person.id, linkedAt: now } });
    const own = await tx.select().from(follows).where(and(eq(follows.subscriberKind, 'xmpp'), eq(follows.subscriberId, jid)));
    for (const f of own) await mergeFollow(tx, f, person.id, now);
    await tx.delete(xmppLinkCodes).where(eq(xmppLinkCodes.jid, jid));
    await recordConsent(tx, { actorId: person.id, action: 'link', subjectId: person.id, object: `xmpp:${jid}`, via: 'xmpp', detail: { moved: own.length }, at: now });
  });
  return person;
}

/** One follow of the address becomes the person's (or adds `xmpp` to the person's follow of that target). */
async function mergeFollow(tx: DbOrTx, f: FollowRow, personId: string, now: Date): Promise<void> {
  const [mine] = await tx
    .select()
    .from(follows)
    .where(and(eq(follows.subscriberKind, 'person'), eq(follows.subscriberId, personId), eq(follows.targetKind, f.targetKind), eq(follows.target, f.target)))
    .limit(1);
  if (mine) {
    await tx.update(follows).set({ route: addRoute(mine.route, 'xmpp'), updatedAt: now }).where(eq(follows.id, mine.id));
    await tx.delete(follows).where(eq(follows.id, f.id));
    return;
  }
  await tx.update(follows).set({ subscriberKind: 'person', subscriberId: personId, route: 'xmpp', updatedAt: now }).where(eq(follows.id, f.id));
}
