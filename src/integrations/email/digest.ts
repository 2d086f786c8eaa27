import { and, desc, eq, inArray, isNotNull, lte, ne } from 'drizzle-orm';
import type { AppContext } from '../../app/context.js';
import { toStatusView } from '../../app/status-view.js';
import type { StatusView } from '../../core/messages.js';
import type { Tx } from '../../db/client.js';
import { inJsonList } from '../../db/json-params.js';
import { deliveries, digestRuns, follows, sources, statuses } from '../../db/schema.js';
import { waitingStatusDeliveries } from '../../db/waiting.js';
import { digestDue } from './due.js';
import { renderDigest, type DigestGroup } from './render-digest.js';
import { createMailer, type Mailer } from './transport.js';
import { unsubscribeKeys } from './unsubscribe-keys.js';
import { signUnsubscribeToken } from './unsubscribe-token.js';

export interface DigestOptions {
  /** The moment to judge "due" by; defaults to ctx.clock.now(). */
  now?: Date;
  /** Send every digest that has content now, ignoring the schedule (admin `digests send`). */
  force?: boolean;
  /** Defaults to a mailer made from ctx.config, closed again at the end. */
  mailer?: Mailer;
  /** Statuses listed in one email; the rest are counted and linked to the timeline. */
  maxShown?: number;
  /** People handled at the same time. */
  concurrency?: number;
}

export interface SentDigest {
  personId: string;
  handle: string;
  periodKey: string;
  statusCount: number;
  messageId: string;
}

export interface DigestRunResult {
  sent: SentDigest[];
  /** Due digests with nothing new in them (nothing was sent). */
  empty: number;
  /** Digests another worker had already taken, or that were no longer due. */
  skipped: number;
  /** Digests whose sending failed; they are tried again at the next run. */
  failed: number;
}

export const DEFAULT_MAX_SHOWN = 50;

type PersonRow = Pick<
  typeof sources.$inferSelect,
  'id' | 'handle' | 'name' | 'email' | 'timezone' | 'digestPeriod' | 'digestAt' | 'lastDigestAt' | 'switchedOff'
>;

const personColumns = {
  id: sources.id,
  handle: sources.handle,
  name: sources.name,
  email: sources.email,
  timezone: sources.timezone,
  digestPeriod: sources.digestPeriod,
  digestAt: sources.digestAt,
  lastDigestAt: sources.lastDigestAt,
  switchedOff: sources.switchedOff,
};

const scheduleOf = (p: PersonRow) => ({ period: p.digestPeriod, at: p.digestAt, timezone: p.timezone, lastDigestAt: p.lastDigestAt });

/** The person's one-click unsubscribe link, signed with the current key (unsubscribe-keys.ts). */
export async function unsubscribeUrl(ctx: Pick<AppContext, 'config' | 'db' | 'clock'>, personId: string): Promise<string> {
  const keys = await unsubscribeKeys(ctx);
  return `${ctx.config.publicUrl}/unsubscribe/${signUnsubscribeToken(keys.current, personId, 'digest')}`;
}

/**
 * Sends every digest that is due (or, with `force`, every digest with content). Safe to run from any
 * number of workers at once: each (person, period) is claimed by a `digest_runs` row inserted with
 * ON CONFLICT DO NOTHING in the transaction that sends it, so exactly one worker sends it; the others
 * wait on that row and then find it taken. The mail goes out before the transaction commits: a failed
 * send rolls the claim back, and the next run tries again.
 */
export async function sendDueDigests(ctx: AppContext, opts: DigestOptions = {}): Promise<DigestRunResult> {
  const now = opts.now ?? ctx.clock.now();
  const log = ctx.log.child({ name: 'digest' });
  const ownMailer = !opts.mailer;
  const mailer = opts.mailer ?? createMailer(ctx.config, ctx.log);
  const result: DigestRunResult = { sent: [], empty: 0, skipped: 0, failed: 0 };
  try {
    const people = await ctx.db
      .select(personColumns)
      .from(sources)
      .where(and(eq(sources.kind, 'person'), ne(sources.digestPeriod, 'off'), isNotNull(sources.email), eq(sources.switchedOff, false)));
    const work: { person: PersonRow; periodKey: string }[] = [];
    for (const person of people) {
      if (opts.force) {
        work.push({ person, periodKey: `manual:${now.toISOString()}` });
        continue;
      }
      const { due, periodKey } = digestDue(scheduleOf(person), now);
      if (due && periodKey) work.push({ person, periodKey });
    }
    await eachLimited(work, opts.concurrency ?? 4, async ({ person, periodKey }) => {
      try {
        const r = await digestFor(ctx, mailer, person.id, periodKey, now, { force: opts.force ?? false, maxShown: opts.maxShown ?? DEFAULT_MAX_SHOWN });
        if (r.kind === 'sent') result.sent.push(r.digest);
        else if (r.kind === 'empty') result.empty++;
        else result.skipped++;
      } catch (err) {
        result.failed++;
        log.error({ err, personId: person.id, periodKey }, 'digest not sent; will retry at the next run');
      }
    });
    if (result.sent.length || result.failed) log.info({ sent: result.sent.length, empty: result.empty, failed: result.failed, force: !!opts.force }, 'digests');
    return result;
  } finally {
    if (ownMailer) mailer.close();
  }
}

type Outcome = { kind: 'sent'; digest: SentDigest } | { kind: 'empty' } | { kind: 'skipped' };

async function digestFor(
  ctx: AppContext,
  mailer: Mailer,
  personId: string,
  periodKey: string,
  now: Date,
  opts: { force: boolean; maxShown: number },
): Promise<Outcome> {
  // Before the transaction: the key may be read (or made, on first use) on another connection.
  const unsubscribe = await unsubscribeUrl(ctx, personId);
  return ctx.db.transaction(async (tx): Promise<Outcome> => {
    const claimed = await tx
      .insert(digestRuns)
      .values({ personId, periodKey, sentAt: now, statusCount: 0 })
      .onConflictDoNothing()
      .returning({ periodKey: digestRuns.periodKey });
    if (!claimed.length) return { kind: 'skipped' };
    const unclaim = () => tx.delete(digestRuns).where(and(eq(digestRuns.personId, personId), eq(digestRuns.periodKey, periodKey)));

    // Lock the person: settings read now are the ones that hold, and an unsubscribe waits for us.
    const [me] = await tx.select(personColumns).from(sources).where(eq(sources.id, personId)).for('update');
    const stillWanted = me && me.email && me.digestPeriod !== 'off' && !me.switchedOff;
    const fresh = me ? digestDue(scheduleOf(me), now) : null;
    const stillDue = opts.force || (fresh?.due && fresh.periodKey === periodKey);
    if (!stillWanted || !stillDue) {
      await unclaim();
      return { kind: 'skipped' };
    }
    const period = me.digestPeriod as 'hourly' | 'daily' | 'weekly';

    const rows = await tx
      .select({
        deliveryId: deliveries.id,
        followId: deliveries.followId,
        status: statuses,
        source: { id: sources.id, handle: sources.handle, kind: sources.kind, name: sources.name },
        follow: { state: follows.state },
      })
      .from(deliveries)
      .leftJoin(statuses, eq(statuses.id, deliveries.statusId))
      .leftJoin(sources, eq(sources.id, statuses.sourceId))
      .leftJoin(follows, eq(follows.id, deliveries.followId))
      .where(and(waitingStatusDeliveries(personId, 'email'), lte(deliveries.createdAt, now)))
      .orderBy(desc(statuses.createdAt), desc(statuses.id))
      .for('update', { of: deliveries });

    const included: { deliveryId: string; followId: string | null; view: StatusView; sourceId: string }[] = [];
    const skipped = new Map<string, string[]>();
    const skip = (reason: string, id: string) => skipped.set(reason, [...(skipped.get(reason) ?? []), id]);
    const seen = new Set<string>();
    // Consent as it stands now counts: a follow removed or switched off since the status was queued
    // keeps it out. The follow's route is not checked, so DMs deferred into the digest by quiet hours
    // (quiet_to_digest) come along.
    for (const r of rows) {
      if (!r.status || !r.source || r.status.deletedAt) skip('status deleted', r.deliveryId);
      else if (r.followId && !r.follow) skip('unfollowed', r.deliveryId);
      else if (r.follow && r.follow.state !== 'active') skip(r.follow.state === 'off' ? 'switched off' : 'follow not approved', r.deliveryId);
      else if (seen.has(r.status.id)) skip('deduplicated', r.deliveryId);
      else {
        seen.add(r.status.id);
        included.push({ deliveryId: r.deliveryId, followId: r.followId, view: toStatusView(ctx.config.publicUrl, r.status, r.source), sourceId: r.source.id });
      }
    }
    for (const [reason, ids] of skipped) await setState(tx, ids, { state: 'skipped', reason, updatedAt: now });

    if (!included.length) {
      // Nothing new. A scheduled slot is still done (so a status arriving later waits for the next
      // slot); a manual run leaves no trace.
      if (opts.force) await unclaim();
      else await tx.update(sources).set({ lastDigestAt: now }).where(eq(sources.id, personId));
      return { kind: 'empty' };
    }

    const groups = new Map<string, DigestGroup>();
    const handles: string[] = [];
    for (const [i, item] of included.entries()) {
      if (!handles.includes(item.view.source.handle)) handles.push(item.view.source.handle);
      if (i >= opts.maxShown) continue;
      const g = groups.get(item.sourceId) ?? { source: item.view.source, statuses: [] };
      g.statuses.push(item.view);
      groups.set(item.sourceId, g);
    }
    const rendered = renderDigest({
      period,
      person: { handle: me.handle, name: me.name, timezone: me.timezone },
      groups: [...groups.values()],
      total: included.length,
      sourceHandles: handles,
      followLabels: await followLabels(tx, [...new Set(included.map((i) => i.followId).filter((id): id is string => !!id))]),
      unsubscribeUrl: unsubscribe,
    });

    const sent = await mailer.send({
      to: { name: me.name, address: me.email! },
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      headers: {
        // RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs
        // "List-Unsubscribe=One-Click" to this URL; it must work without any login.
        'List-Unsubscribe': `<${unsubscribe}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        // RFC 3834: machine-made mail; asks auto-responders (out of office) not to answer it.
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
      },
    });

    await setState(
      tx,
      included.map((i) => i.deliveryId),
      { state: 'sent', sentAt: now, updatedAt: now, reason: null },
    );
    await tx
      .update(digestRuns)
      .set({ statusCount: included.length })
      .where(and(eq(digestRuns.personId, personId), eq(digestRuns.periodKey, periodKey)));
    await tx.update(sources).set({ lastDigestAt: now }).where(eq(sources.id, personId));
    return { kind: 'sent', digest: { personId, handle: me.handle, periodKey, statusCount: included.length, messageId: sent.messageId } };
  });
}

async function setState(tx: Tx, ids: string[], set: Partial<typeof deliveries.$inferInsert>): Promise<void> {
  if (ids.length) await tx.update(deliveries).set(set).where(inJsonList(deliveries.id, ids));
}

/** "@build", "#deploy", "\"outage\"": the follows that brought these statuses, sources first. */
async function followLabels(tx: Tx, followIds: string[]): Promise<string[]> {
  if (!followIds.length) return [];
  const fs = await tx.select({ targetKind: follows.targetKind, target: follows.target }).from(follows).where(inArray(follows.id, followIds));
  const sourceIds = fs.filter((f) => f.targetKind === 'source').map((f) => f.target);
  const handles = sourceIds.length
    ? new Map((await tx.select({ id: sources.id, handle: sources.handle }).from(sources).where(inArray(sources.id, sourceIds))).map((s) => [s.id, s.handle]))
    : new Map<string, string>();
  const order = { source: 0, tag: 1, word: 2 } as const;
  return fs
    .map((f) => ({ kind: order[f.targetKind], label: f.targetKind === 'source' ? `@${handles.get(f.target) ?? 'unknown'}` : f.targetKind === 'tag' ? `#${f.target}` : `"${f.target}"` }))
    .sort((a, b) => a.kind - b.kind || a.label.localeCompare(b.label))
    .map((f) => f.label);
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}
