import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import { DomainError, forbidden, invalid, notFound, rule } from '../core/errors.js';
import { parseFilter } from '../core/filters.js';
import { newId } from '../core/ids.js';
import { canDecideRequest, decideFollow } from '../core/permissions.js';
import { canonicalRoute } from '../core/routes.js';
import type { FollowRoute, FollowState, SubscriberKind, TargetKind } from '../core/types.js';
import type { DbOrTx } from '../db/client.js';
import { blocks, followRequestNotices, follows, serviceOwners, sources, webhooks } from '../db/schema.js';
import { recordConsent, type Via } from './audit.js';
import type { AppContext } from './context.js';
import { writeOutbox } from './outbox.js';
import { getSourceById, isOwnerOf, mayActAs, requireSource, type SourceRow } from './people.js';

export type FollowRow = typeof follows.$inferSelect;

export interface Subscriber {
  kind: SubscriberKind;
  id: string;
}

export interface TargetSpec {
  kind: TargetKind;
  /** source id, tag or word (lowercase). */
  value: string;
  /** How people write it: "@build", "#deploy", "outage". */
  label: string;
  source?: SourceRow;
}

const WORD_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_-]{0,63}$/u;

/** "@build" -> source, "#deploy" -> tag, "outage" -> tracked word. */
export async function resolveTarget(ctx: Pick<AppContext, 'db'>, raw: string): Promise<TargetSpec> {
  const t = raw.trim();
  if (t.startsWith('@')) {
    const source = await requireSource(ctx, t);
    return { kind: 'source', value: source.id, label: `@${source.handle}`, source };
  }
  if (t.startsWith('#')) {
    const tag = t.slice(1).toLowerCase();
    if (!WORD_RE.test(tag)) throw invalid(`"${raw}" is not a tag.`, 'follow #tag');
    return { kind: 'tag', value: tag, label: `#${tag}` };
  }
  const word = t.toLowerCase();
  if (!WORD_RE.test(word)) throw invalid(`"${raw}" is not a single word to track.`, 'track <word>');
  return { kind: 'word', value: word, label: `"${word}"` };
}

export async function labelOf(db: DbOrTx, f: Pick<FollowRow, 'targetKind' | 'target'>): Promise<string> {
  if (f.targetKind === 'tag') return `#${f.target}`;
  if (f.targetKind === 'word') return `"${f.target}"`;
  const s = await getSourceById(db, f.target);
  return s ? `@${s.handle}` : '(deleted source)';
}

export interface FollowInput {
  subscriber: Subscriber;
  /** The person asking (owner of the webhook, member of the channel, or the subscriber itself). */
  actor: { id: string | null; isAdmin: boolean };
  target: TargetSpec;
  route: FollowRoute;
  filters?: string[];
  via: Via;
}

export interface FollowResult {
  follow: FollowRow;
  created: boolean;
  /** The follow is a request awaiting the protected source's approval. */
  pending: boolean;
}

/**
 * Follows a source, tag or word — or changes an existing follow's route and filters.
 * Protected sources turn the follow into a request that their owners approve.
 */
export async function follow(ctx: AppContext, input: FollowInput): Promise<FollowResult> {
  const filters = (input.filters ?? []).map(parseFilter);
  const { subscriber, target } = input;
  const route = canonicalRoute(input.route);
  if (target.kind === 'source' && subscriber.kind === 'person' && target.value === subscriber.id) {
    throw rule('You cannot follow yourself.', 'follow @handle');
  }
  let decision: 'active' | 'pending' = 'active';
  if (target.kind === 'source' && target.source) {
    const src = target.source;
    const personId = subscriber.kind === 'person' ? subscriber.id : input.actor.id;
    const [owner, blocked, existing] = await Promise.all([
      personId ? isOwnerOf(ctx.db, src.id, personId) : Promise.resolve(false),
      personId
        ? ctx.db.select({ one: sql`1` }).from(blocks).where(and(eq(blocks.sourceId, src.id), eq(blocks.personId, personId))).limit(1)
        : Promise.resolve([]),
      findFollow(ctx.db, subscriber, target),
    ]);
    const d = decideFollow(src.visibility, {
      isOwner: owner || input.actor.isAdmin,
      isAdmin: input.actor.isAdmin,
      blocked: blocked.length > 0,
      followState: existing?.state ?? null,
    });
    if (d === 'refused') throw forbidden(`@${src.handle} does not accept your follow.`);
    decision = d;
  }
  const now = ctx.clock.now();
  const result = await ctx.db.transaction(async (tx) => {
    const existing = await findFollow(tx, subscriber, target);
    if (!existing && decision === 'pending') await capPendingRequests(tx, subscriber);
    const [f] = existing
      ? await tx.update(follows).set({ route, filters, updatedAt: now }).where(eq(follows.id, existing.id)).returning()
      : await tx
          .insert(follows)
          .values({
            id: newId(now.getTime()),
            subscriberKind: subscriber.kind,
            subscriberId: subscriber.id,
            targetKind: target.kind,
            target: target.value,
            state: decision,
            route,
            filters,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
    await recordConsent(tx, {
      actorId: input.actor.id,
      action: target.kind === 'word' ? 'track' : 'follow',
      subjectId: consentSubject(subscriber.kind, subscriber.id),
      object: target.label,
      via: input.via,
      detail: { ...(existing ? { change: true } : { state: decision }), route, filters, subscriberKind: subscriber.kind },
      at: now,
    });
    // The owners hear of one requester at most once a day per source (DM and follow.requested); the request is listed anyway.
    const notify = !existing && decision === 'pending' && (await claimRequestNotice(tx, target.value, subscriber, now));
    if (notify) await writeOutbox(tx, { event: 'follow.requested', payload: { followId: f!.id } });
    return { follow: f!, created: !existing, pending: f!.state === 'pending' };
  });
  if (result.pending && result.created) ctx.kick();
  return result;
}

/** At most this many follow requests of one subscriber wait at a time (docs/security.md, class 7). */
export const MAX_PENDING_REQUESTS = 20;
/** The owners of a source are told about the same requester at most once in this long. */
export const REQUEST_NOTICE_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** The 21st pending request of one subscriber is refused (429 over the API, a sentence in chat). */
async function capPendingRequests(tx: DbOrTx, subscriber: Subscriber): Promise<void> {
  // One subscriber's requests are counted and added one at a time, so parallel requests cannot pass the cap together.
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`follow-requests:${subscriber.kind}:${subscriber.id}`}))`);
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(follows)
    .where(and(eq(follows.subscriberKind, subscriber.kind), eq(follows.subscriberId, subscriber.id), eq(follows.state, 'pending')));
  if ((row?.n ?? 0) >= MAX_PENDING_REQUESTS) {
    throw new DomainError(
      'rate_limited',
      `${MAX_PENDING_REQUESTS} of your follow requests are already waiting for approval: withdraw some (unfollow @handle) or wait until they are decided.`,
      'following',
    );
  }
}

/** True when the owners of `sourceId` have not been told about this requester in the last day (and records that they are told now). */
async function claimRequestNotice(tx: DbOrTx, sourceId: string, subscriber: Subscriber, now: Date): Promise<boolean> {
  const since = new Date(now.getTime() - REQUEST_NOTICE_INTERVAL_MS);
  const rows = await tx
    .insert(followRequestNotices)
    .values({ sourceId, requesterKind: subscriber.kind, requesterId: subscriber.id, notifiedAt: now })
    .onConflictDoUpdate({
      target: [followRequestNotices.sourceId, followRequestNotices.requesterKind, followRequestNotices.requesterId],
      set: { notifiedAt: now },
      setWhere: sql`${followRequestNotices.notifiedAt} <= ${since.toISOString()}::timestamptz`,
    })
    .returning({ at: followRequestNotices.notifiedAt });
  return rows.length > 0;
}

/** Whose consent a follow is, in the record: the subscriber's id, and `xmpp:<bare jid>` for an address not linked to a person (SPEC section 8). */
export const consentSubject = (kind: SubscriberKind, id: string): string => (kind === 'xmpp' ? `xmpp:${id}` : id);

export async function findFollow(db: DbOrTx, subscriber: Subscriber, target: Pick<TargetSpec, 'kind' | 'value'>): Promise<FollowRow | null> {
  const rows = await db
    .select()
    .from(follows)
    .where(
      and(
        eq(follows.subscriberKind, subscriber.kind),
        eq(follows.subscriberId, subscriber.id),
        eq(follows.targetKind, target.kind),
        eq(follows.target, target.value),
      ),
    )
    .limit(1);
  return rows[0] ?? null;
}

export async function getFollow(db: DbOrTx, id: string): Promise<FollowRow | null> {
  const rows = await db.select().from(follows).where(eq(follows.id, id)).limit(1);
  return rows[0] ?? null;
}

export async function unfollow(ctx: AppContext, input: { subscriber: Subscriber; actor: { id: string | null }; target: TargetSpec; via: Via }): Promise<void> {
  const existing = await findFollow(ctx.db, input.subscriber, input.target);
  if (!existing) throw notFound(`You do not follow ${input.target.label}.`, 'following');
  await removeFollow(ctx, existing, input.actor.id, input.via, input.target.label);
}

export async function removeFollow(ctx: AppContext, f: FollowRow, actorId: string | null, via: Via, label?: string): Promise<void> {
  const at = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await tx.delete(follows).where(eq(follows.id, f.id));
    await recordFollowEnded(tx, f, { actorId, via, at, label });
  });
}

/** The consent record of a follow that ended (unfollow, untrack, or its channel sent the app away); in the deleting transaction. */
export async function recordFollowEnded(
  tx: DbOrTx,
  f: FollowRow,
  e: { actorId: string | null; via: Via; at: Date; label?: string | undefined; reason?: string },
): Promise<void> {
  await recordConsent(tx, {
    actorId: e.actorId,
    action: f.targetKind === 'word' ? 'untrack' : 'unfollow',
    subjectId: consentSubject(f.subscriberKind, f.subscriberId),
    object: e.label ?? (await labelOf(tx, f)),
    via: e.via,
    detail: { subscriberKind: f.subscriberKind, ...(e.reason ? { reason: e.reason } : {}) },
    at: e.at,
  });
}

/** `on @handle` / `off @handle`: one follow's deliveries. A pending request cannot be switched. */
export async function setFollowSwitch(ctx: AppContext, personId: string, target: TargetSpec, on: boolean, via: Via): Promise<FollowRow> {
  const f = await findFollow(ctx.db, { kind: 'person', id: personId }, target);
  if (!f) throw notFound(`You do not follow ${target.label}.`, `follow ${target.label}`);
  return switchFollow(ctx, f, on, personId, via, target.label);
}

/** Switches one follow (of a person, channel or webhook) on or off; recorded in the consent log. */
export async function switchFollow(ctx: AppContext, f: FollowRow, on: boolean, actorId: string | null, via: Via, label?: string): Promise<FollowRow> {
  const what = label ?? (await labelOf(ctx.db, f));
  if (f.state === 'pending') throw rule(`The follow of ${what} is still waiting for approval.`, 'following');
  const state: FollowState = on ? 'active' : 'off';
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const [u] = await tx.update(follows).set({ state, updatedAt: now }).where(eq(follows.id, f.id)).returning();
    await recordConsent(tx, { actorId, action: on ? 'on' : 'off', subjectId: consentSubject(f.subscriberKind, f.subscriberId), object: what, via, at: now, detail: { followId: f.id, subscriberKind: f.subscriberKind } });
    return u!;
  });
}

/** `on` / `off`: all of a person's deliveries. */
export async function setGlobalSwitch(ctx: AppContext, personId: string, on: boolean, via: Via): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(sources)
      .set(on ? { switchedOff: false } : { switchedOff: true, switchedOffAt: now })
      .where(eq(sources.id, personId));
    await recordConsent(tx, { actorId: personId, action: on ? 'on' : 'off', subjectId: personId, object: 'all', via, at: now });
  });
}

/** Pending follow requests of every source the person may decide for (admins: all). */
export async function pendingRequests(ctx: Pick<AppContext, 'db'>, person: { id: string; isAdmin: boolean }, page: { limit: number; before?: string }) {
  const owned = ctx.db.select({ id: serviceOwners.serviceId }).from(serviceOwners).where(eq(serviceOwners.personId, person.id));
  const conds = [eq(follows.state, 'pending'), eq(follows.targetKind, 'source')];
  if (!person.isAdmin) conds.push(sql`(${follows.target} = ${person.id} or ${inArray(follows.target, owned)})`);
  if (page.before) conds.push(gt(follows.id, page.before));
  const rows = await ctx.db.select().from(follows).where(and(...conds)).orderBy(asc(follows.id)).limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/** Who is behind a subscriber, for display: a person's handle, a channel or a webhook. */
export async function subscriberLabel(db: DbOrTx, kind: SubscriberKind, id: string): Promise<string> {
  if (kind === 'person') {
    const s = await getSourceById(db, id);
    return s ? `@${s.handle}` : '(unknown person)';
  }
  if (kind === 'webhook') {
    // Named by its owner, never by its URL: the owner of a followed source sees this label, and a
    // webhook URL may carry a secret of someone else's (docs/security.md, class 3).
    const w = await db.select({ owner: sources.handle }).from(webhooks).innerJoin(sources, eq(sources.id, webhooks.ownerId)).where(eq(webhooks.id, id)).limit(1);
    return w[0] ? `a webhook of @${w[0].owner}` : '(deleted webhook)';
  }
  if (kind === 'xmpp') return `xmpp:${id}`;
  return `channel ${id}`;
}

export interface DecideInput {
  actor: { id: string | null; isAdmin: boolean };
  followId: string;
  decision: 'approve' | 'deny';
  via: Via;
}

/**
 * Approves or denies a follow request. Only the source, its owners or an admin decide — never the
 * requester. The requester is told the outcome in a DM (for people).
 */
export async function decideFollowRequest(ctx: AppContext, input: DecideInput): Promise<{ follow: FollowRow | null; source: SourceRow; requester: string; changed: boolean }> {
  const f = await getFollow(ctx.db, input.followId);
  if (!f || f.targetKind !== 'source') throw notFound('That follow request no longer exists.', 'requests');
  const source = await getSourceById(ctx.db, f.target);
  if (!source) throw notFound('That follow request no longer exists.', 'requests');
  const isOwner = input.actor.id ? await isOwnerOf(ctx.db, source.id, input.actor.id) : false;
  const isRequester = f.subscriberKind === 'person' && f.subscriberId === input.actor.id;
  if (!canDecideRequest({ isOwner, isAdmin: input.actor.isAdmin, isRequester })) {
    throw forbidden(isRequester ? 'You cannot decide your own follow request.' : `Only @${source.handle} or its owners can decide this request.`);
  }
  const requester = await subscriberLabel(ctx.db, f.subscriberKind, f.subscriberId);
  if (f.state !== 'pending') return { follow: f, source, requester, changed: false };
  const now = ctx.clock.now();
  const result = await ctx.db.transaction(async (tx) => {
    let row: FollowRow | null = null;
    if (input.decision === 'approve') {
      row = (await tx.update(follows).set({ state: 'active', updatedAt: now }).where(and(eq(follows.id, f.id), eq(follows.state, 'pending'))).returning())[0] ?? null;
    } else {
      await tx.delete(follows).where(and(eq(follows.id, f.id), eq(follows.state, 'pending')));
    }
    await recordConsent(tx, {
      actorId: input.actor.id,
      action: input.decision,
      subjectId: consentSubject(f.subscriberKind, f.subscriberId),
      object: `@${source.handle}`,
      via: input.via,
      detail: { followId: f.id, subscriberKind: f.subscriberKind },
      at: now,
    });
    if (f.subscriberKind === 'person') {
      const text =
        input.decision === 'approve'
          ? `@${source.handle} approved your follow request. You will now receive its statuses.`
          : `@${source.handle} declined your follow request.`;
      await writeOutbox(tx, { event: 'notice', payload: { personId: f.subscriberId, message: { kind: 'notice', text }, key: `decide:${f.id}` } });
    }
    // An XMPP address asked by presence subscription: the answer is presence too (SPEC section 8).
    if (f.subscriberKind === 'xmpp') {
      const type = input.decision === 'approve' ? 'subscribed' : 'unsubscribed';
      await writeOutbox(tx, { event: 'xmpp.notice', payload: { jid: f.subscriberId, notice: { kind: 'presence', type, handle: source.handle }, key: `decide:${f.id}` } });
    }
    return row;
  });
  ctx.kick();
  return { follow: result, source, requester, changed: true };
}

/** `approve @jane` in chat: the pending request by that person (or their follow to a source the actor owns). */
export async function findRequestBy(ctx: Pick<AppContext, 'db'>, actor: { id: string; isAdmin: boolean }, requesterHandle: string): Promise<FollowRow> {
  const requester = await requireSource(ctx, requesterHandle);
  const { items } = await pendingRequests(ctx, actor, { limit: 100 });
  const mine = items.filter((f) => f.subscriberKind === 'person' && f.subscriberId === requester.id);
  // Prefer a request to the actor's own person source, then to services they own.
  const pick = mine.find((f) => f.target === actor.id) ?? mine[0];
  if (!pick) throw notFound(`@${requester.handle} has no pending follow request for you to decide.`, 'requests');
  return pick;
}

/** `block @jane`: removes their follows of the source and refuses any later one. */
export async function block(ctx: AppContext, input: { actor: { id: string; isAdmin: boolean }; source: SourceRow; person: SourceRow; via: Via }): Promise<void> {
  const { actor, source, person } = input;
  if (!(await mayActAs(ctx.db, actor, source.id))) throw forbidden(`You are not an owner of @${source.handle}.`);
  if (person.id === source.id) throw rule('A source cannot block itself.');
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await tx.insert(blocks).values({ sourceId: source.id, personId: person.id, createdAt: now }).onConflictDoNothing();
    await tx
      .delete(follows)
      .where(and(eq(follows.subscriberKind, 'person'), eq(follows.subscriberId, person.id), eq(follows.targetKind, 'source'), eq(follows.target, source.id)));
    await recordConsent(tx, { actorId: actor.id, action: 'block', subjectId: person.id, object: `@${source.handle}`, via: input.via, at: now });
  });
}

/** Follows of a subscriber, oldest first, keyset-paginated. */
export async function followsOf(ctx: Pick<AppContext, 'db'>, subs: Subscriber[], page: { limit: number; before?: string }) {
  if (!subs.length) return { items: [] as FollowRow[], next: null };
  const bySub = subs.map((s) => and(eq(follows.subscriberKind, s.kind), eq(follows.subscriberId, s.id))!);
  const conds = [sql`(${sql.join(bySub, sql` or `)})`];
  if (page.before) conds.push(gt(follows.id, page.before));
  const rows = await ctx.db.select().from(follows).where(and(...conds)).orderBy(asc(follows.id)).limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/** Active (and switched-off) followers of a source, for `followers`. */
export async function followersOf(ctx: Pick<AppContext, 'db'>, sourceId: string, limit = 100): Promise<{ count: number; people: string[] }> {
  const [c] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(follows)
    .where(and(eq(follows.targetKind, 'source'), eq(follows.target, sourceId), inArray(follows.state, ['active', 'off'])));
  const rows = await ctx.db
    .select({ handle: sources.handle })
    .from(follows)
    .innerJoin(sources, and(eq(follows.subscriberKind, 'person'), eq(sources.id, follows.subscriberId)))
    .where(and(eq(follows.targetKind, 'source'), eq(follows.target, sourceId), inArray(follows.state, ['active', 'off'])))
    .orderBy(asc(sources.handle))
    .limit(limit);
  return { count: c?.n ?? 0, people: rows.map((r) => r.handle) };
}
