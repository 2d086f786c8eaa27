import { and, eq, sql } from 'drizzle-orm';
import { passesFilters } from '../core/filters.js';
import { decideDelivery, type DeliveryDecision } from '../core/permissions.js';
import { deliveryRoutes } from '../core/routes.js';
import type { FollowState, Route, SubscriberKind } from '../core/types.js';
import type { Db } from '../db/client.js';
import { inJsonList } from '../db/json-params.js';
import { preparedFor } from '../db/prepared.js';
import { blocks, follows, serviceOwners, sources, statuses, webhooks } from '../db/schema.js';

type FollowRow = typeof follows.$inferSelect;
type StatusRow = typeof statuses.$inferSelect;
type SourceRow = typeof sources.$inferSelect;

/** What every decision about one status needs, loaded once per fan-out. */
export interface StatusAudience {
  status: StatusRow;
  source: SourceRow;
  /** People who own the source: the person itself, or a service's owners. */
  ownerIds: ReadonlySet<string>;
}

/** A status, its source and the source's owners in one prepared statement. */
const audienceById = preparedFor((db) =>
  db
    .select({
      status: statuses,
      source: sources,
      serviceOwnerIds: sql<string[]>`array(select ${serviceOwners.personId} from ${serviceOwners} where ${serviceOwners.serviceId} = ${sources.id})`,
    })
    .from(statuses)
    .innerJoin(sources, eq(sources.id, statuses.sourceId))
    .where(eq(statuses.id, sql.placeholder('id')))
    .limit(1)
    .prepare('tp_status_audience'),
);

export async function loadAudience(db: Db, statusId: string): Promise<StatusAudience | null> {
  const r = (await audienceById(db).execute({ id: statusId }))[0];
  if (!r) return null;
  const ownerIds = r.source.kind === 'person' ? [r.source.id] : r.serviceOwnerIds;
  return { status: r.status, source: r.source, ownerIds: new Set(ownerIds) };
}

export type SkipReason = Extract<DeliveryDecision, { deliver: false }>['reason'] | 'webhook disabled';

/** One follow's verdict on one status. `null` = nothing to record (filtered out, the author, gone). */
export interface FollowVerdict {
  follow: FollowRow;
  subscriberKind: SubscriberKind;
  subscriberId: string;
  routes: Route[];
  deliver: boolean;
  reason: SkipReason | null;
  /** Only the subscriber itself may learn of it: nothing readable by others (webhook logs) is written. */
  private: boolean;
  /** The person has no digest: an `email` delivery would wait forever, so it is skipped as `digest off`. */
  digestOff?: boolean;
}

/** A follow's route -> the routes its deliveries travel (`dm+email` = a DM and a digest entry, `dm+sms` = a DM and a text). */
export function routesOf(f: Pick<FollowRow, 'subscriberKind' | 'route'>): Route[] {
  return deliveryRoutes(f.subscriberKind, f.route);
}

// judgeFollows's lookups, prepared once per handle: a fan-out runs them on every page, and an ingest of
// many small fan-outs on every status (drizzle building their SQL showed in both profiles).
const ids = sql.placeholder('ids');
const peopleByIds = preparedFor((db) =>
  db
    .select({ id: sources.id, switchedOff: sources.switchedOff, digestPeriod: sources.digestPeriod })
    .from(sources)
    .where(and(inJsonList(sources.id, ids), eq(sources.kind, 'person')))
    .prepare('tp_judge_people'),
);
const hooksByIds = preparedFor((db) =>
  db.select({ id: webhooks.id, ownerId: webhooks.ownerId, enabled: webhooks.enabled, filter: webhooks.filter }).from(webhooks).where(inJsonList(webhooks.id, ids)).prepare('tp_judge_webhooks'),
);
const blockedAmong = preparedFor((db) =>
  db
    .select({ id: blocks.personId })
    .from(blocks)
    .where(and(eq(blocks.sourceId, sql.placeholder('sourceId')), inJsonList(blocks.personId, ids)))
    .prepare('tp_judge_blocks'),
);
const ownSourceFollows = preparedFor((db) =>
  db
    .select({ id: follows.subscriberId, state: follows.state })
    .from(follows)
    .where(and(eq(follows.subscriberKind, sql.placeholder('kind')), inJsonList(follows.subscriberId, ids), eq(follows.targetKind, 'source'), eq(follows.target, sql.placeholder('sourceId'))))
    .prepare('tp_judge_own_follows'),
);

/**
 * Decides a page of follows against one status, with a fixed number of queries per page whatever its
 * size: subscribers, blocks and (for protected sources) the subscribers' own follows of the source.
 */
export async function judgeFollows(db: Db, a: StatusAudience, page: readonly FollowRow[]): Promise<(FollowVerdict | null)[]> {
  const ids = (kind: SubscriberKind) => [...new Set(page.filter((f) => f.subscriberKind === kind).map((f) => f.subscriberId))];
  const personIds = ids('person');
  const webhookIds = ids('webhook');
  const channelIds = ids('channel');

  const people = new Map<string, { switchedOff: boolean; digestPeriod: string }>();
  if (personIds.length) {
    const rows = await peopleByIds(db).execute({ ids: JSON.stringify(personIds) });
    for (const r of rows) people.set(r.id, r);
  }
  const hooks = new Map<string, { ownerId: string; enabled: boolean; filter: string[] }>();
  if (webhookIds.length) {
    const rows = await hooksByIds(db).execute({ ids: JSON.stringify(webhookIds) });
    for (const r of rows) hooks.set(r.id, r);
  }
  // Blocks name people: a blocked person's own webhooks are refused too.
  const blockable = [...new Set([...personIds, ...[...hooks.values()].map((h) => h.ownerId)])];
  const blocked = new Set<string>();
  if (blockable.length) {
    const rows = await blockedAmong(db).execute({ sourceId: a.source.id, ids: JSON.stringify(blockable) });
    for (const r of rows) blocked.add(r.id);
  }
  // A tag or word follow reaches a protected source's status only with the subscriber's own approval.
  const ownFollow = new Map<string, FollowState>();
  const needOwn = a.source.visibility === 'protected' && page.some((f) => f.targetKind !== 'source');
  if (needOwn) {
    for (const [kind, list] of [
      ['person', personIds],
      ['webhook', webhookIds],
      ['channel', channelIds],
    ] as const) {
      if (!list.length) continue;
      const rows = await ownSourceFollows(db).execute({ kind, ids: JSON.stringify(list), sourceId: a.source.id });
      for (const r of rows) ownFollow.set(`${kind}/${r.id}`, r.state);
    }
  }

  const content = { tags: a.status.entities.tags, words: a.status.words };
  return page.map((f): FollowVerdict | null => {
    if (!passesFilters(f.filters, content)) return null;
    let isOwner = false;
    let isBlocked = false;
    let switchedOff = false;
    let disabled = false;
    let digestOff = false;
    if (f.subscriberKind === 'person') {
      const p = people.get(f.subscriberId);
      if (!p) return null;
      // Nobody receives their own status.
      if (f.subscriberId === a.status.authorId || (a.source.kind === 'person' && f.subscriberId === a.source.id)) return null;
      isOwner = a.ownerIds.has(f.subscriberId);
      isBlocked = blocked.has(f.subscriberId);
      switchedOff = p.switchedOff;
      digestOff = p.digestPeriod === 'off';
    } else if (f.subscriberKind === 'webhook') {
      const h = hooks.get(f.subscriberId);
      if (!h) return null;
      if (!passesFilters(h.filter, content)) return null;
      isOwner = h.ownerId === a.source.id || a.ownerIds.has(h.ownerId);
      isBlocked = blocked.has(h.ownerId);
      disabled = !h.enabled;
    }
    const sourceFollowState = f.targetKind === 'source' ? f.state : (ownFollow.get(`${f.subscriberKind}/${f.subscriberId}`) ?? null);
    const d = decideDelivery({
      visibility: a.source.visibility,
      followState: f.state,
      sourceFollowState,
      isOwner,
      blocked: isBlocked,
      switchedOff,
    });
    const base = { follow: f, subscriberKind: f.subscriberKind, subscriberId: f.subscriberId, routes: routesOf(f), digestOff };
    if (!d.deliver) {
      return { ...base, deliver: false, reason: d.reason, private: d.reason === 'not permitted' || d.reason === 'blocked' || d.reason === 'follow pending' };
    }
    if (disabled) return { ...base, deliver: false, reason: 'webhook disabled', private: false };
    return { ...base, deliver: true, reason: null, private: false };
  });
}
