import { and, eq, sql } from 'drizzle-orm';
import type { AppContext } from '../../app/context.js';
import { writeOutbox } from '../../app/outbox.js';
import { ownerIdsOf } from '../../app/people.js';
import { statusesWithSources } from '../../app/statuses.js';
import { eventBodyJson, statusDeletedData, toStatusView } from '../../app/status-view.js';
import type { Db } from '../../db/client.js';
import { inJsonList } from '../../db/json-params.js';
import { preparedFor } from '../../db/prepared.js';
import { sources, statuses, webhooks } from '../../db/schema.js';
import type { Channel, DeliveryOutcome, DeliveryRecord, Limit } from '../../pipeline/channel.js';
import { sendWebhook, type WebhookResponse } from './send.js';
import { systemLookup, type LookupFn, type ResolvedAddress } from '../../net/address-guard.js';
import { SendLane } from '../../net/send-lane.js';

/** The endpoint columns a send needs (reading whole rows for a batch of 100 showed in the profile). */
const endpointColumns = {
  id: webhooks.id,
  ownerId: webhooks.ownerId,
  url: webhooks.url,
  secret: webhooks.secret,
  description: webhooks.description,
  enabled: webhooks.enabled,
  failingSince: webhooks.failingSince,
};
type WebhookRow = { [K in keyof typeof endpointColumns]: (typeof webhooks.$inferSelect)[K] };
type StatusRow = { s: typeof statuses.$inferSelect; src: typeof sources.$inferSelect };

/** An endpoint whose deliveries all failed for this long is disabled (SPEC section 4). */
export const DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;

export interface WebhookChannelDeps {
  ctx: Pick<AppContext, 'db' | 'clock' | 'config' | 'log' | 'kick'>;
  /** DNS for the destination check; tests inject one so no real name is ever resolved. */
  lookup?: LookupFn;
}

/** The body every event shares: `{type, timestamp, data}` (SPEC section 4). */
export interface WebhookBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A built body: the JSON exactly as it is signed and sent. */
type Built = { ok: true; json: string } | { ok: false; reason: string };

const bodyJson = eventBodyJson;

/** What one batch's deliveries share: their endpoints, their statuses, each status's event data, and DNS. */
interface Shared {
  hooks: Map<string, WebhookRow>;
  statuses: Map<string, StatusRow>;
  createdData: Map<string, string>;
  lookup: LookupFn;
}

/**
 * Resolves each name once for the batch (a batch of 100 to one app's host asked DNS 100 times). Every
 * send still checks the answer and connects only to the address it checked, so a batch's few hundred
 * milliseconds of reuse open no door to rebinding. A name that did not resolve stays unresolved for the
 * batch: its sends are retried later, each on its own.
 */
function oncePerName(lookup: LookupFn): LookupFn {
  const answers = new Map<string, Promise<ResolvedAddress[]>>();
  return (host) => {
    let answer = answers.get(host);
    if (!answer) answers.set(host, (answer = lookup(host)));
    return answer;
  };
}

const endpointsByIds = preparedFor((db) => db.select(endpointColumns).from(webhooks).where(inJsonList(webhooks.id, sql.placeholder('ids'))).prepare('tp_webhooks_by_ids'));
async function loadShared(db: Db, ds: readonly DeliveryRecord[], lookup: LookupFn): Promise<Shared> {
  const hookIds = [...new Set(ds.map((d) => d.subscriberId))];
  const statusIds = [...new Set(ds.flatMap((d) => (d.statusId ? [d.statusId] : [])))];
  const [hookRows, statusRows] = await Promise.all([
    endpointsByIds(db).execute({ ids: JSON.stringify(hookIds) }),
    statusIds.length ? statusesWithSources(db, statusIds) : Promise.resolve([]),
  ]);
  return { hooks: new Map(hookRows.map((w) => [w.id, w])), statuses: new Map(statusRows.map((r) => [r.status.id, { s: r.status, src: r.source }])), createdData: new Map(), lookup: oncePerName(lookup) };
}

function buildBody(config: WebhookChannelDeps['ctx']['config'], shared: Shared, d: DeliveryRecord, w: WebhookRow): Built {
  const timestamp = d.createdAt.toISOString();
  const r = d.statusId ? shared.statuses.get(d.statusId) : undefined;
  const body = (data: Record<string, unknown>): Built => ({ ok: true, json: bodyJson(d.event, timestamp, JSON.stringify(data)) });
  switch (d.event) {
    case 'status.created': {
      if (!r || r.s.deletedAt) return { ok: false, reason: 'status deleted' };
      let data = shared.createdData.get(r.s.id);
      if (data === undefined) shared.createdData.set(r.s.id, (data = JSON.stringify(toStatusView(config.publicUrl, r.s, r.src))));
      return { ok: true, json: bodyJson(d.event, timestamp, data) };
    }
    case 'status.deleted': {
      return body(statusDeletedData(config.publicUrl, d.statusId ?? '', r));
    }
    case 'follow.requested': {
      const data = d.payload.data;
      if (!data || typeof data !== 'object') return { ok: false, reason: 'no event data' };
      return body(data as Record<string, unknown>);
    }
    case 'webhook.test':
      return body({ webhook: { id: w.id, url: w.url, description: w.description }, message: 'A test event from Twitterprise.' });
    default:
      return { ok: false, reason: `webhooks do not receive ${d.event}` };
  }
}

function describe(r: WebhookResponse): string {
  if (r.kind === 'refused') return `refused: ${r.reason}`;
  if (r.kind === 'no_answer') return `no answer: ${r.error}`;
  if (r.status >= 300 && r.status < 400) return `HTTP ${r.status}: redirect${r.location ? ` to ${r.location}` : ''} not followed`;
  return `HTTP ${r.status}`;
}

/**
 * Route `webhook`: Standard Webhooks-signed POSTs with `webhook-id` = the delivery id. 2xx is
 * success; 410 disables the endpoint at once; anything else is retried on WEBHOOK_RETRY_DELAYS.
 * A destination that resolves to a private address is refused for good (no DNS rebinding).
 */
export function createWebhookChannel(deps: WebhookChannelDeps): Channel {
  const { db, config, clock } = deps.ctx;
  const log = deps.ctx.log.child({ name: 'webhooks' });
  const delays = config.webhooks.retryDelaysMs;
  // The send thread starts with the first send, so a web process that delivers nothing never has one.
  const lane = config.webhooks.sendThread ? new SendLane() : null;

  /** Turns the endpoint off (once) and tells its owners in a DM. */
  async function disable(w: WebhookRow, reason: string): Promise<void> {
    const now = clock.now();
    const changed = await db.transaction(async (tx) => {
      const rows = await tx
        .update(webhooks)
        .set({ enabled: false, disabledReason: reason })
        .where(and(eq(webhooks.id, w.id), eq(webhooks.enabled, true)))
        .returning({ id: webhooks.id });
      if (!rows.length) return false;
      const [owner] = await tx.select({ id: sources.id, kind: sources.kind }).from(sources).where(eq(sources.id, w.ownerId)).limit(1);
      const people = owner ? await ownerIdsOf(tx, owner) : [];
      const text = `Your webhook endpoint ${w.url} was turned off: ${reason}. Fix it, send a test event, then turn it on again (PATCH /api/v1/webhooks/${w.id} {"enabled": true}).`;
      for (const personId of people) {
        await writeOutbox(tx, { event: 'notice', payload: { personId, message: { kind: 'notice', text }, key: `webhook-off:${w.id}:${now.getTime()}` } });
      }
      return true;
    });
    if (changed) {
      log.warn({ webhookId: w.id, reason }, 'webhook endpoint disabled');
      deps.ctx.kick();
    }
  }

  /** Starts (or continues) the endpoint's failure run; disables it once the run is 5 days old. */
  async function noteFailure(w: WebhookRow): Promise<boolean> {
    const now = clock.now();
    const [r] = await db
      .update(webhooks)
      .set({ failingSince: sql`coalesce(${webhooks.failingSince}, ${now.toISOString()}::timestamptz)` })
      .where(eq(webhooks.id, w.id))
      .returning({ failingSince: webhooks.failingSince });
    if (r?.failingSince && now.getTime() - r.failingSince.getTime() >= DISABLE_AFTER_MS) {
      await disable(w, 'every delivery failed for 5 days');
      return true;
    }
    return false;
  }

  async function deliverOne(d: DeliveryRecord, shared: Shared): Promise<DeliveryOutcome> {
    const w = shared.hooks.get(d.subscriberId);
    if (!w) return { kind: 'skip', reason: 'webhook endpoint deleted' };
    // A test event is the owner's explicit check, also of an endpoint they turned off to repair.
    if (!w.enabled && d.event !== 'webhook.test') return { kind: 'skip', reason: 'webhook disabled' };
    const built = buildBody(config, shared, d, w);
    if (!built.ok) return { kind: 'skip', reason: built.reason };
    const res = await sendWebhook({
      url: w.url,
      secret: w.secret,
      id: d.id,
      body: built.json,
      timeoutMs: config.webhooks.timeoutMs,
      allowPrivate: config.net.allowPrivateUrls,
      lookup: shared.lookup,
      ...(lane ? { post: lane.post } : {}),
    });
    if (res.kind === 'answered' && res.status >= 200 && res.status < 300) {
      if (w.failingSince) await db.update(webhooks).set({ failingSince: null }).where(eq(webhooks.id, w.id));
      return { kind: 'sent' };
    }
    if (res.kind === 'answered' && res.status === 410) {
      await disable(w, 'it answered 410 Gone');
      return { kind: 'fail', reason: 'HTTP 410 Gone: endpoint disabled' };
    }
    const error = describe(res);
    if (await noteFailure(w)) return { kind: 'fail', reason: `${error}; endpoint disabled after 5 days of failures` };
    if (res.kind === 'refused') return { kind: 'fail', reason: error };
    return { kind: 'retry', error };
  }

  async function deliverMany(ds: readonly DeliveryRecord[], limit: Limit): Promise<DeliveryOutcome[]> {
    const shared = await loadShared(db, ds, deps.lookup ?? systemLookup);
    return Promise.all(
      ds.map((d) =>
        limit(() => deliverOne(d, shared)).catch((err: unknown): DeliveryOutcome => {
          log.warn({ err, deliveryId: d.id }, 'webhook delivery threw; retrying');
          return { kind: 'retry', error: err instanceof Error ? err.message : String(err) };
        }),
      ),
    );
  }

  return {
    route: 'webhook',
    maxAttempts: delays.length + 1,
    backoffMs: (attempt) => delays[attempt - 1] ?? delays[delays.length - 1] ?? 0,
    async deliver(d) {
      const [outcome] = await deliverMany([d], (fn) => fn());
      return outcome!;
    },
    deliverMany,
  };
}
