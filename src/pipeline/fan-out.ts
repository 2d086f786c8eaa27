import { and, asc, eq, gt, inArray, ne, sql } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { newId } from '../core/ids.js';
import type { OutboundMessage, SourceRef } from '../core/messages.js';
import type { Route, SubscriberKind } from '../core/types.js';
import type { Db, DbOrTx } from '../db/client.js';
import { inJsonList, jsonRows } from '../db/json-params.js';
import { pagesById } from '../db/keyset.js';
import { preparedFor } from '../db/prepared.js';
import { channels, deliveries, follows, serviceOwners, sources, webhooks } from '../db/schema.js';
import { decideFollows, judgedFollowColumns, judgeFollows, loadAudience, loadAudiences, loadJudgeFacts, type FollowRow, type FollowVerdict, type StatusAudience } from './audience.js';
import { BATCH_SIZE, type DeliveryToEnqueue, type Enqueuer } from './enqueue.js';
import type { FanOutJob } from './queues.js';

export type NewDelivery = typeof deliveries.$inferInsert;

export interface FanOutDeps {
  ctx: Pick<AppContext, 'db' | 'clock' | 'log'>;
  enqueue: Pick<Enqueuer, 'deliver' | 'retract'>;
  /** Follows read per page; memory stays bounded by this, not by the follower count. */
  pageSize?: number;
}

export interface FanOutResult {
  /** Delivery rows this run wrote as queued (a repeated run writes none). */
  queued: number;
  /** Delivery rows this run wrote as skipped. */
  skipped: number;
  retracts: number;
}

const empty = (): FanOutResult => ({ queued: 0, skipped: 0, retracts: 0 });

/** The key that makes one event reach one subscriber over one route at most once. */
export function dedupeKey(event: string, subjectId: string, kind: SubscriberKind, subscriberId: string, route: Route): string {
  return `${event}:${subjectId}:${kind}:${subscriberId}:${route}`;
}

/** Turns one outbox event into delivery rows and deliver jobs. Safe to run any number of times. */
export async function fanOut(deps: FanOutDeps, job: FanOutJob): Promise<FanOutResult> {
  switch (job.event) {
    case 'status.created':
      return statusCreated(deps, job.payload.statusId);
    case 'statuses.created':
      return statusesCreated(deps, job.payload.statusIds);
    case 'status.deleted':
      return statusDeleted(deps, job.payload.statusId, job.payload.deliveryIds);
    case 'follow.requested':
      return followRequested(deps, job.payload.followId);
    case 'notice':
      return notice(deps, job.outboxId, job.payload);
    case 'xmpp.notice':
      return xmppNotice(deps, job.payload);
  }
}

/**
 * Writes delivery rows (skipping keys already present) and enqueues every delivery among them that
 * is still `queued` and not waiting: new ones, and ones a crashed earlier run wrote but never enqueued.
 * `upgradeSkipped`: a subscriber skipped through one follow (say, `off @build`) but reached through
 * another that may deliver (#deploy) gets the delivery.
 */
export async function writeDeliveries(
  db: DbOrTx,
  enqueue: Pick<Enqueuer, 'deliver'>,
  rows: NewDelivery[],
  opts: { upgradeSkipped?: boolean; followIds?: ReadonlySet<string> } = {},
): Promise<{ queued: number; skipped: number }> {
  if (!rows.length) return { queued: 0, skipped: 0 };
  // One statement may not touch a key twice: keep the deliverable row of a key.
  const byKey = new Map<string, NewDelivery>();
  for (const r of rows) {
    const prior = byKey.get(r.dedupeKey);
    if (!prior || (prior.state === 'skipped' && r.state !== 'skipped')) byKey.set(r.dedupeKey, r);
  }
  const values = [...byKey.values()];
  // One JSON parameter instead of a dozen per row: building and sending 12,000 bound parameters for a
  // page of 1,000 was most of a fan-out's time (docs/benchmarks.md).
  const insert = db.insert(deliveries).select(jsonRows(deliveries, values));
  const returning = { id: deliveries.id, route: deliveries.route, state: deliveries.state, holdUntil: deliveries.holdUntil, followId: deliveries.followId };
  const written = opts.upgradeSkipped
    ? await insert
        .onConflictDoUpdate({
          target: deliveries.dedupeKey,
          set: {
            state: sql`excluded.state`,
            reason: sql`excluded.reason`,
            followId: sql`excluded.follow_id`,
            updatedAt: sql`excluded.updated_at`,
          },
          setWhere: sql`${deliveries.state} = 'skipped' and excluded.state <> 'skipped'`,
        })
        .returning(returning)
    : await insert.onConflictDoNothing({ target: deliveries.dedupeKey }).returning(returning);
  // Found again still queued (a run that crashed before enqueueing) counts too. Every delivery of
  // these keys is listed, done or not, so that a re-run makes the same batches with the same job ids:
  // adding a batch whose job still exists changes nothing. With `followIds`, only the deliveries these
  // follows reached: a subscriber an earlier page (another follow) reached stays in that page's batch.
  // When every key was written (new, or upgraded), the statement's answer is the whole list; otherwise read it.
  const found =
    written.length === values.length
      ? written
      : await db
          .select(returning)
          .from(deliveries)
          .where(inJsonList(deliveries.dedupeKey, values.map((v) => v.dedupeKey)));
  const mine = opts.followIds ? found.filter((d) => d.followId !== null && opts.followIds!.has(d.followId)) : found;
  await enqueue.deliver(mine.map((d) => ({ id: d.id, route: d.route, pending: d.state === 'queued' && d.holdUntil === null })));
  return { queued: written.filter((w) => w.state === 'queued').length, skipped: written.filter((w) => w.state === 'skipped').length };
}

function row(now: Date, r: Omit<NewDelivery, 'id' | 'createdAt' | 'updatedAt'>): NewDelivery {
  return { id: newId(now.getTime()), createdAt: now, updatedAt: now, ...r };
}

/**
 * Pages of follows matching `where`, by id. The first page is one batch job's worth, so the first
 * deliveries go out while the rest is still being written (a first page of 1,000 held them back by
 * about 130 ms; docs/benchmarks.md). Page sizes only depend on the follows, so a re-run makes the same
 * pages, the same batches and the same job ids.
 */
function followPages(db: Db, stream: Stream, size: number) {
  return pagesById(
    (after, limit) => followPage(db, stream, after, limit),
    size,
    Math.min(size, BATCH_SIZE),
  );
}

/** Follows of one kind of target (a source, tags, words) that a status reaches. */
interface Stream {
  kind: 'source' | 'tag' | 'word';
  targets: readonly string[];
}

/**
 * A stream's first page of follows, and the pages after an id: two statements, prepared once per handle.
 * The targets go as a text[] parameter, whose values PostgreSQL's custom plans see (a JSON list hid
 * them). Every fan-out reads a first page, most read nothing more; only big audiences read further pages.
 * Kept apart, the first pages' plans are not averaged with a 100,000-follower fan-out's: mixed in one
 * statement, PostgreSQL settled on a generic plan that walked the primary key past the big source's
 * follows for every small status (41-57 ms a page instead of 0.01; docs/benchmarks.md).
 */
const followFirstPage = preparedFor((db) =>
  db
    .select(judgedFollowColumns)
    .from(follows)
    .where(and(eq(follows.targetKind, sql.placeholder('kind')), sql`${follows.target} = any(${sql.placeholder('targets')}::text[])`))
    .orderBy(asc(follows.id))
    .limit(sql.placeholder('limit'))
    .prepare('tp_follow_first_page'),
);
const followNextPage = preparedFor((db) =>
  db
    .select(judgedFollowColumns)
    .from(follows)
    .where(and(eq(follows.targetKind, sql.placeholder('kind')), sql`${follows.target} = any(${sql.placeholder('targets')}::text[])`, gt(follows.id, sql.placeholder('after'))))
    .orderBy(asc(follows.id))
    .limit(sql.placeholder('limit'))
    .prepare('tp_follow_next_page'),
);

function followPage(db: Db, stream: Stream, after: string | null, limit: number): Promise<FollowRow[]> {
  const { kind, targets } = stream;
  return after === null ? followFirstPage(db).execute({ kind, targets, limit }) : followNextPage(db).execute({ kind, targets, after, limit });
}

async function statusCreated(deps: FanOutDeps, statusId: string): Promise<FanOutResult> {
  const { db } = deps.ctx;
  const a = await loadAudience(db, statusId);
  const result = empty();
  if (!a || a.status.deletedAt) return result;
  const size = deps.pageSize ?? 1000;
  const tags = [...new Set(a.status.entities.tags)];
  const words = [...new Set(a.status.words)];
  // Source follows first: when one subscriber is reached twice, "You follow @build" is the better why.
  const streams: Stream[] = [{ kind: 'source', targets: [a.source.id] }];
  if (tags.length) streams.push({ kind: 'tag', targets: tags });
  if (words.length) streams.push({ kind: 'word', targets: words });
  for (const stream of streams) {
    for await (const page of followPages(db, stream, size)) {
      const r = await deliverPage(deps, a, page);
      result.queued += r.queued;
      result.skipped += r.skipped;
    }
  }
  deps.ctx.log.debug({ statusId, ...result }, 'fanned out');
  return result;
}

/**
 * Several new statuses. With at most a page of follows of each kind among them (the common burst: many
 * statuses, a few followers each), all of them at once: one statement for the statuses, one per kind of follow (source, tag, word),
 * the subscribers' facts once, one insert of every delivery and one enqueue, so their deliveries share
 * batch jobs. With more, one after another, each as it would go alone. Either way a re-run reads the same
 * follows and makes the same batches and the same batch job ids.
 */
async function statusesCreated(deps: FanOutDeps, statusIds: readonly string[]): Promise<FanOutResult> {
  return (await together(deps, statusIds)) ?? oneByOne(deps, statusIds);
}

async function together(deps: FanOutDeps, statusIds: readonly string[]): Promise<FanOutResult | null> {
  const { db } = deps.ctx;
  const found = await loadAudiences(db, statusIds);
  const audiences = statusIds.flatMap((id) => {
    const a = found.get(id);
    return a && !a.status.deletedAt ? [a] : [];
  });
  if (!audiences.length) return empty();
  const streams: Stream[] = [
    { kind: 'source', targets: [...new Set(audiences.map((a) => a.source.id))] },
    { kind: 'tag', targets: [...new Set(audiences.flatMap((a) => a.status.entities.tags))] },
    { kind: 'word', targets: [...new Set(audiences.flatMap((a) => a.status.words))] },
  ];
  const byKind = new Map<string, FollowRow[]>();
  for (const stream of streams) {
    if (!stream.targets.length) continue;
    // One page of each kind for all the statuses; a fuller one means a big audience, page by page.
    const size = deps.pageSize ?? 1000;
    const rows = await followPage(db, stream, null, size + 1);
    if (rows.length > size) return null;
    byKind.set(stream.kind, rows);
  }
  // Each status's follows as its own fan-out would meet them: source follows first, then tags, then words, each by id.
  const items = audiences.map((a) => {
    const tags = new Set(a.status.entities.tags);
    const words = new Set(a.status.words);
    const mine = [
      ...(byKind.get('source') ?? []).filter((f) => f.target === a.source.id),
      ...(byKind.get('tag') ?? []).filter((f) => tags.has(f.target)),
      ...(byKind.get('word') ?? []).filter((f) => words.has(f.target)),
    ];
    return { a, follows: mine };
  });
  const facts = await loadJudgeFacts(db, items);
  const now = deps.ctx.clock.now();
  const rows = items.flatMap(({ a, follows: mine }) => deliveryRows(a, decideFollows(a, mine, facts), now));
  const followIds = new Set(items.flatMap((i) => i.follows.map((f) => f.id)));
  const r = await writeDeliveries(db, deps.enqueue, rows, { upgradeSkipped: true, followIds });
  return { ...empty(), ...r };
}

/**
 * The statuses one after another, their deliveries enqueued together: what each status's pages hand to
 * `deliver` is held until BATCH_SIZE are waiting (and at the end), so deliveries of different statuses
 * share batch jobs. The statuses and their order are the job's own, so a re-run holds the same lists at
 * the same points and makes the same batch job ids.
 */
async function oneByOne(deps: FanOutDeps, statusIds: readonly string[]): Promise<FanOutResult> {
  const held: DeliveryToEnqueue[] = [];
  const flush = () => deps.enqueue.deliver(held.splice(0));
  const holding: FanOutDeps = {
    ...deps,
    enqueue: {
      ...deps.enqueue,
      deliver: async (items) => {
        held.push(...items);
        if (held.length >= BATCH_SIZE) await flush();
      },
    },
  };
  const result = empty();
  for (const statusId of statusIds) {
    const r = await statusCreated(holding, statusId);
    result.queued += r.queued;
    result.skipped += r.skipped;
  }
  if (held.length) await flush();
  return result;
}

async function deliverPage(deps: FanOutDeps, a: StatusAudience, page: FollowRow[]) {
  const { db } = deps.ctx;
  const rows = deliveryRows(a, await judgeFollows(db, a, page), deps.ctx.clock.now());
  return writeDeliveries(db, deps.enqueue, rows, { upgradeSkipped: true, followIds: new Set(page.map((f) => f.id)) });
}

/** The delivery rows of one status's verdicts: one per route, queued or skipped with the reason. */
function deliveryRows(a: StatusAudience, verdicts: readonly (FollowVerdict | null)[], now: Date): NewDelivery[] {
  const rows: NewDelivery[] = [];
  for (const v of verdicts) {
    if (!v) continue;
    // A webhook's delivery log is read by its owner: a protected source's skipped status must not show there.
    if (!v.deliver && v.private && v.subscriberKind === 'webhook') continue;
    for (const route of v.routes) {
      const noDigest = v.deliver && route === 'email' && v.digestOff;
      rows.push(
        row(now, {
          event: 'status.created',
          statusId: a.status.id,
          subscriberKind: v.subscriberKind,
          subscriberId: v.subscriberId,
          route,
          followId: v.follow.id,
          state: v.deliver && !noDigest ? 'queued' : 'skipped',
          reason: noDigest ? 'digest off' : v.reason,
          dedupeKey: dedupeKey('status.created', a.status.id, v.subscriberKind, v.subscriberId, route),
        }),
      );
    }
  }
  return rows;
}

/**
 * A deleted status leaves everywhere it went: chat messages are retracted, webhooks that received it
 * get `status.deleted`, and deliveries still waiting (held DMs, digest entries) are dropped. With
 * `only`, just those deliveries: sends that were in flight while this ran the first time.
 */
async function statusDeleted(deps: FanOutDeps, statusId: string, only?: readonly string[]): Promise<FanOutResult> {
  const { db } = deps.ctx;
  const now = deps.ctx.clock.now();
  const result = empty();
  await db
    .update(deliveries)
    .set({ state: 'skipped', reason: 'status deleted', updatedAt: now })
    .where(and(eq(deliveries.statusId, statusId), eq(deliveries.event, 'status.created'), eq(deliveries.state, 'queued')));
  const sent = (after: string | null, limit: number) =>
    db
      .select({ id: deliveries.id, route: deliveries.route, subscriberKind: deliveries.subscriberKind, subscriberId: deliveries.subscriberId, refs: deliveries.refs })
      .from(deliveries)
      .where(
        and(
          eq(deliveries.statusId, statusId),
          eq(deliveries.event, 'status.created'),
          eq(deliveries.state, 'sent'),
          only ? inJsonList(deliveries.id, only) : undefined,
          after ? gt(deliveries.id, after) : undefined,
        ),
      )
      .orderBy(asc(deliveries.id))
      .limit(limit);
  for await (const page of pagesById(sent, deps.pageSize ?? 1000)) {
    const chat = page.filter((d) => (d.route === 'dm' || d.route === 'channel') && d.refs.length > 0).map((d) => d.id);
    if (chat.length) await deps.enqueue.retract(chat);
    result.retracts += chat.length;
    const hooks = page
      .filter((d) => d.route === 'webhook' && d.subscriberKind === 'webhook')
      .map((d) =>
        row(now, {
          event: 'status.deleted',
          statusId,
          subscriberKind: 'webhook',
          subscriberId: d.subscriberId,
          route: 'webhook',
          state: 'queued',
          dedupeKey: dedupeKey('status.deleted', statusId, 'webhook', d.subscriberId, 'webhook'),
        }),
      );
    // XMPP apps got the status as a message: they get `status.deleted` the same way (SPEC section 8).
    for (const d of page) {
      if (d.route !== 'xmpp') continue;
      hooks.push(
        row(now, {
          event: 'status.deleted',
          statusId,
          subscriberKind: d.subscriberKind,
          subscriberId: d.subscriberId,
          route: 'xmpp',
          state: 'queued',
          dedupeKey: dedupeKey('status.deleted', statusId, d.subscriberKind, d.subscriberId, 'xmpp'),
        }),
      );
    }
    const r = await writeDeliveries(db, deps.enqueue, hooks);
    result.queued += r.queued;
  }
  return result;
}

async function sourceRefOf(db: DbOrTx, kind: SubscriberKind, id: string): Promise<SourceRef | null> {
  // An XMPP address not linked to a person: its bare JID is all there is to show.
  if (kind === 'xmpp') return { handle: `xmpp:${id}`, name: `XMPP address ${id}` };
  if (kind === 'person') {
    const [p] = await db.select({ handle: sources.handle, name: sources.name }).from(sources).where(eq(sources.id, id)).limit(1);
    return p ?? null;
  }
  if (kind === 'webhook') {
    const [w] = await db
      .select({ handle: sources.handle, name: sources.name })
      .from(webhooks)
      .innerJoin(sources, eq(sources.id, webhooks.ownerId))
      .where(eq(webhooks.id, id))
      .limit(1);
    return w ? { handle: w.handle, name: `${w.name} (webhook)` } : null;
  }
  const [c] = await db.select({ name: channels.name, externalId: channels.externalId, platform: channels.platform }).from(channels).where(eq(channels.id, id)).limit(1);
  return c ? { handle: c.name ?? c.externalId, name: `${c.platform} channel ${c.name ?? c.externalId}` } : null;
}

/** A follow of a protected source awaits approval: its owners get a DM with buttons, their apps an event. */
async function followRequested(deps: FanOutDeps, followId: string): Promise<FanOutResult> {
  const { db } = deps.ctx;
  const now = deps.ctx.clock.now();
  const [f] = await db.select().from(follows).where(eq(follows.id, followId)).limit(1);
  if (!f || f.state !== 'pending' || f.targetKind !== 'source') return empty();
  const [source] = await db.select().from(sources).where(eq(sources.id, f.target)).limit(1);
  const requester = await sourceRefOf(db, f.subscriberKind, f.subscriberId);
  if (!source || !requester) return empty();
  const ownerIds =
    source.kind === 'person'
      ? [source.id]
      : (await db.select({ id: serviceOwners.personId }).from(serviceOwners).where(eq(serviceOwners.serviceId, source.id))).map((o) => o.id);
  const message: OutboundMessage = { kind: 'follow_request', followId: f.id, requester, source: { handle: source.handle, name: source.name } };
  const rows: NewDelivery[] = ownerIds.map((ownerId) =>
    row(now, {
      event: 'follow.requested',
      subscriberKind: 'person',
      subscriberId: ownerId,
      route: 'dm',
      followId: f.id,
      state: 'queued',
      payload: { message },
      dedupeKey: dedupeKey('follow.requested', f.id, 'person', ownerId, 'dm'),
    }),
  );
  const hooks = await db
    .select({ id: webhooks.id })
    .from(webhooks)
    .where(and(inArray(webhooks.ownerId, [source.id, ...ownerIds]), eq(webhooks.enabled, true)));
  const data = {
    follow: { id: f.id, state: f.state, created_at: f.createdAt.toISOString() },
    requester: { handle: requester.handle, name: requester.name, kind: f.subscriberKind },
    source: { handle: source.handle, kind: source.kind, name: source.name },
  };
  for (const h of hooks) {
    rows.push(
      row(now, {
        event: 'follow.requested',
        subscriberKind: 'webhook',
        subscriberId: h.id,
        route: 'webhook',
        followId: f.id,
        state: 'queued',
        payload: { data },
        dedupeKey: dedupeKey('follow.requested', f.id, 'webhook', h.id, 'webhook'),
      }),
    );
  }
  const r = await writeDeliveries(db, deps.enqueue, rows);
  return { ...empty(), queued: r.queued };
}

async function notice(deps: FanOutDeps, outboxId: number, p: { personId: string; message: Record<string, unknown>; key?: string | undefined }): Promise<FanOutResult> {
  const { db } = deps.ctx;
  const now = deps.ctx.clock.now();
  const [person] = await db.select({ id: sources.id }).from(sources).where(and(eq(sources.id, p.personId), ne(sources.kind, 'service'))).limit(1);
  if (!person) return empty();
  const key = p.key ? `notice:${p.key}:${p.personId}` : `notice:ob${outboxId}`;
  const r = await writeDeliveries(db, deps.enqueue, [
    row(now, { event: 'notice', subscriberKind: 'person', subscriberId: p.personId, route: 'dm', state: 'queued', payload: { message: p.message }, dedupeKey: key }),
  ]);
  return { ...empty(), queued: r.queued };
}

/** One notice to one XMPP address (link code, subscription answer): a delivery on route `xmpp`. */
async function xmppNotice(deps: FanOutDeps, p: { jid: string; notice: Record<string, unknown>; key: string }): Promise<FanOutResult> {
  const now = deps.ctx.clock.now();
  const r = await writeDeliveries(deps.ctx.db, deps.enqueue, [
    row(now, { event: 'xmpp.notice', subscriberKind: 'xmpp', subscriberId: p.jid, route: 'xmpp', state: 'queued', payload: { notice: p.notice }, dedupeKey: `xmpp.notice:${p.key}` }),
  ]);
  return { ...empty(), queued: r.queued };
}
