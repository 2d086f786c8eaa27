import { inArray } from 'drizzle-orm';
import type { FollowRow } from '../app/follows.js';
import type { SourceRow } from '../app/people.js';
import type { DeliveryRow, WebhookRow } from '../app/webhooks.js';
import { canonicalRoute, deliveryRoutes } from '../core/routes.js';
import type { Route } from '../core/types.js';
import type { DbOrTx } from '../db/client.js';
import { sources } from '../db/schema.js';

/** The JSON shapes of SPEC section 3; snake_case, times in ISO 8601 UTC. */

export const personView = (s: SourceRow) => ({ handle: s.handle, name: s.name, email: s.email, kind: 'person' as const, visibility: s.visibility });

export interface WebhookView {
  id: string;
  url: string;
  description: string;
  filter: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
}

/** Never includes the secret: it is shown once, at creation. */
export const webhookView = (w: WebhookRow): WebhookView => ({
  id: w.id,
  url: w.url,
  description: w.description,
  filter: w.filter,
  enabled: w.enabled,
  disabled_reason: w.disabledReason,
  created_at: w.createdAt.toISOString(),
});

export const deliveryView = (d: DeliveryRow) => ({
  id: d.id,
  event: d.event,
  status_id: d.statusId,
  subscriber: { kind: d.subscriberKind, id: d.subscriberId },
  route: d.route,
  state: d.state,
  ...(d.reason ? { reason: d.reason } : {}),
  attempts: d.attempts,
  ...(d.lastError ? { last_error: d.lastError } : {}),
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
});

async function handlesById(db: DbOrTx, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  if (!unique.length) return new Map();
  const rows = await db.select({ id: sources.id, handle: sources.handle }).from(sources).where(inArray(sources.id, unique));
  return new Map(rows.map((r) => [r.id, r.handle]));
}

/** How people write a target: "@build", "#deploy", "outage". */
const targetText = (f: FollowRow, handles: Map<string, string>) =>
  f.targetKind === 'source' ? `@${handles.get(f.target) ?? '(deleted)'}` : f.targetKind === 'tag' ? `#${f.target}` : f.target;

export interface FollowView {
  id: string;
  target: string;
  state: FollowRow['state'];
  /** As stored, canonical: `dm`, `dm+sms`, `channel`, `webhook`. */
  route: FollowRow['route'];
  /** The routes its deliveries travel, one per name. */
  routes: Route[];
  filters: string[];
  subscriber: { kind: FollowRow['subscriberKind']; id?: string; handle?: string };
  webhook: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * Follows (and follow requests) with their target and subscriber handles resolved in one query.
 * `requests`: for a source's owners, who see other people's requests: a person is named by handle
 * only, never by internal id (docs/security.md, class 3).
 */
export async function followViews(db: DbOrTx, rows: FollowRow[], opts: { requests?: boolean } = {}): Promise<FollowView[]> {
  const handles = await handlesById(db, [
    ...rows.filter((f) => f.targetKind === 'source').map((f) => f.target),
    ...rows.filter((f) => f.subscriberKind === 'person').map((f) => f.subscriberId),
  ]);
  return rows.map((f) => {
    const handle = f.subscriberKind === 'person' ? handles.get(f.subscriberId) : undefined;
    return {
      id: f.id,
      target: targetText(f, handles),
      state: f.state,
      route: canonicalRoute(f.route),
      routes: deliveryRoutes(f.subscriberKind, f.route),
      filters: f.filters,
      subscriber: {
        kind: f.subscriberKind,
        ...(opts.requests && f.subscriberKind === 'person' ? {} : { id: f.subscriberId }),
        ...(handle ? { handle: `@${handle}` } : {}),
      },
      webhook: f.subscriberKind === 'webhook' ? f.subscriberId : null,
      created_at: f.createdAt.toISOString(),
      updated_at: f.updatedAt.toISOString(),
    };
  });
}

export interface ConsentRowLike {
  id: string;
  at: Date;
  actorId: string | null;
  action: string;
  subjectId: string;
  object: string;
  via: string;
  detail: unknown;
}

/** Consent entries with the actor's and subject's handles beside their ids (subjects may also be channels or webhooks). */
export async function consentViews(db: DbOrTx, rows: ConsentRowLike[]) {
  const handles = await handlesById(db, rows.flatMap((r) => (r.actorId ? [r.actorId, r.subjectId] : [r.subjectId])));
  const h = (id: string | null) => (id && handles.has(id) ? `@${handles.get(id)}` : null);
  return rows.map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    actor_id: r.actorId,
    actor: h(r.actorId),
    action: r.action,
    subject_id: r.subjectId,
    subject: h(r.subjectId),
    object: r.object,
    via: r.via,
    detail: r.detail,
  }));
}
