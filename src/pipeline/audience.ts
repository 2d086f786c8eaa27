import { and, eq, sql } from 'drizzle-orm';
import { passesFilters } from '../core/filters.js';
import { decideDelivery, type DeliveryDecision } from '../core/permissions.js';
import { deliveryRoutes } from '../core/routes.js';
import type { FollowState, Route, SubscriberKind } from '../core/types.js';
import type { Db } from '../db/client.js';
import { inJsonList } from '../db/json-params.js';
import { preparedFor } from '../db/prepared.js';
import { statusesWithSources } from '../app/statuses.js';
import { blocks, follows, serviceOwners, sources, statuses, webhooks } from '../db/schema.js';

/**
 * The columns of a follow that deciding on a delivery reads: a fan-out page reads them for 1,000 follows
 * at a time, and the two timestamps it never uses were two Dates a row to make.
 */
export const judgedFollowColumns = {
  id: follows.id,
  subscriberKind: follows.subscriberKind,
  subscriberId: follows.subscriberId,
  targetKind: follows.targetKind,
  target: follows.target,
  state: follows.state,
  route: follows.route,
  filters: follows.filters,
};
export type FollowRow = { [K in keyof typeof judgedFollowColumns]: (typeof follows.$inferSelect)[K] };
type StatusRow = typeof statuses.$inferSelect;
type SourceRow = typeof sources.$inferSelect;

/** What every decision about one status needs, loaded once per fan-out. */
export interface StatusAudience {
  status: StatusRow;
  source: SourceRow;
  /** People who own the source: the person itself, or a service's owners. */
  ownerIds: ReadonlySet<string>;
}

const ownersOfServices = preparedFor((db) =>
  db.select({ serviceId: serviceOwners.serviceId, personId: serviceOwners.personId }).from(serviceOwners).where(inJsonList(serviceOwners.serviceId, sql.placeholder('ids'))).prepare('tp_service_owners'),
);

export async function loadAudience(db: Db, statusId: string): Promise<StatusAudience | null> {
  return (await loadAudiences(db, [statusId])).get(statusId) ?? null;
}

/** Several statuses' audiences, by status id (an unknown id is left out): the statuses with their sources, then the services' owners. */
export async function loadAudiences(db: Db, statusIds: readonly string[]): Promise<Map<string, StatusAudience>> {
  const rows = await statusesWithSources(db, statusIds);
  const services = [...new Set(rows.filter((r) => r.source.kind !== 'person').map((r) => r.source.id))];
  const owners = new Map<string, string[]>();
  if (services.length) {
    for (const o of await ownersOfServices(db).execute({ ids: JSON.stringify(services) })) owners.set(o.serviceId, [...(owners.get(o.serviceId) ?? []), o.personId]);
  }
  return new Map(
    rows.map(({ status, source }) => [status.id, { status, source, ownerIds: new Set(source.kind === 'person' ? [source.id] : (owners.get(source.id) ?? [])) }]),
  );
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
    .select({ sourceId: blocks.sourceId, id: blocks.personId })
    .from(blocks)
    .where(and(inJsonList(blocks.sourceId, sql.placeholder('sourceIds')), inJsonList(blocks.personId, ids)))
    .prepare('tp_judge_blocks'),
);
const ownSourceFollows = preparedFor((db) =>
  db
    .select({ sourceId: follows.target, id: follows.subscriberId, state: follows.state })
    .from(follows)
    .where(and(eq(follows.subscriberKind, sql.placeholder('kind')), inJsonList(follows.subscriberId, ids), eq(follows.targetKind, 'source'), inJsonList(follows.target, sql.placeholder('sourceIds'))))
    .prepare('tp_judge_own_follows'),
);

/**
 * Decides a page of follows against one status, with a fixed number of queries per page whatever its
 * size: subscribers, blocks and (for protected sources) the subscribers' own follows of the source.
 */
export async function judgeFollows(db: Db, a: StatusAudience, page: readonly FollowRow[]): Promise<(FollowVerdict | null)[]> {
  return decideFollows(a, page, await loadJudgeFacts(db, [{ a, follows: page }]));
}

/** What decisions about some statuses' follows need to know, read once for all of them. */
export interface JudgeFacts {
  people: Map<string, { switchedOff: boolean; digestPeriod: string }>;
  hooks: Map<string, { ownerId: string; enabled: boolean; filter: string[] }>;
  /** `<source id>/<person id>`. */
  blocked: Set<string>;
  /** `<source id>/<subscriber kind>/<subscriber id>` -> the state of that subscriber's follow of the source. */
  ownFollow: Map<string, FollowState>;
}

/** The facts for several statuses' follows in the same fixed number of queries as for one. */
export async function loadJudgeFacts(db: Db, items: readonly { a: StatusAudience; follows: readonly FollowRow[] }[]): Promise<JudgeFacts> {
  const all = items.flatMap((i) => i.follows);
  const ids = (kind: SubscriberKind, fs: readonly FollowRow[] = all) => [...new Set(fs.filter((f) => f.subscriberKind === kind).map((f) => f.subscriberId))];
  const personIds = ids('person');
  const webhookIds = ids('webhook');
  const facts: JudgeFacts = { people: new Map(), hooks: new Map(), blocked: new Set(), ownFollow: new Map() };

  if (personIds.length) for (const r of await peopleByIds(db).execute({ ids: JSON.stringify(personIds) })) facts.people.set(r.id, r);
  if (webhookIds.length) for (const r of await hooksByIds(db).execute({ ids: JSON.stringify(webhookIds) })) facts.hooks.set(r.id, r);
  // Blocks name people: a blocked person's own webhooks are refused too.
  const blockable = [...new Set([...personIds, ...[...facts.hooks.values()].map((h) => h.ownerId)])];
  const sourceIds = [...new Set(items.map((i) => i.a.source.id))];
  if (blockable.length) {
    for (const r of await blockedAmong(db).execute({ sourceIds: JSON.stringify(sourceIds), ids: JSON.stringify(blockable) })) facts.blocked.add(`${r.sourceId}/${r.id}`);
  }
  // A tag or word follow reaches a protected source's status only with the subscriber's own approval.
  const needOwn = items.filter((i) => i.a.source.visibility === 'protected' && i.follows.some((f) => f.targetKind !== 'source'));
  if (needOwn.length) {
    const protectedIds = JSON.stringify([...new Set(needOwn.map((i) => i.a.source.id))]);
    const theirs = needOwn.flatMap((i) => i.follows);
    for (const kind of ['person', 'webhook', 'channel'] as const) {
      const list = ids(kind, theirs);
      if (!list.length) continue;
      for (const r of await ownSourceFollows(db).execute({ kind, ids: JSON.stringify(list), sourceIds: protectedIds })) facts.ownFollow.set(`${r.sourceId}/${kind}/${r.id}`, r.state);
    }
  }
  return facts;
}

/** One status's follows decided with facts already read (loadJudgeFacts). `null` = nothing to record. */
export function decideFollows(a: StatusAudience, page: readonly FollowRow[], facts: JudgeFacts): (FollowVerdict | null)[] {
  const { people, hooks } = facts;
  const src = a.source.id;
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
      isBlocked = facts.blocked.has(`${src}/${f.subscriberId}`);
      switchedOff = p.switchedOff;
      digestOff = p.digestPeriod === 'off';
    } else if (f.subscriberKind === 'webhook') {
      const h = hooks.get(f.subscriberId);
      if (!h) return null;
      if (!passesFilters(h.filter, content)) return null;
      isOwner = h.ownerId === a.source.id || a.ownerIds.has(h.ownerId);
      isBlocked = facts.blocked.has(`${src}/${h.ownerId}`);
      disabled = !h.enabled;
    }
    const sourceFollowState = f.targetKind === 'source' ? f.state : (facts.ownFollow.get(`${src}/${f.subscriberKind}/${f.subscriberId}`) ?? null);
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
