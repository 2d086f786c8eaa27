import { eq } from 'drizzle-orm';
import type { AppContext } from '../../app/context.js';
import type { XmppNotice } from '../../app/outbox.js';
import { eventBodyJson, statusDeletedData, statusUrl, toStatusView } from '../../app/status-view.js';
import { jidsOf } from '../../app/xmpp-addresses.js';
import { sources, statuses } from '../../db/schema.js';
import type { Channel, DeliveryOutcome, DeliveryRecord } from '../../pipeline/channel.js';
import type { XmppSender } from './send-queue.js';
import type { OutStanza } from './stanzas.js';

/**
 * Route `xmpp` (SPEC section 8): a status is `<message type="chat" from="<handle>@XMPP_DOMAIN"
 * id="<delivery id>">` with a human body (text and URL) and the webhook event as XEP-0335 JSON, so an
 * app acts on the same fields as a webhook receiver and dedupes on the id, which a retry keeps.
 * A person's delivery goes to every address linked to them; an unlinked address's to itself.
 * Retries follow WEBHOOK_RETRY_DELAYS, as the other machine-facing route does.
 */

export interface XmppChannelDeps {
  ctx: Pick<AppContext, 'db' | 'config' | 'log'>;
  domain: string;
  sender: XmppSender;
}

type Built = { ok: true; stanzas: (to: string) => OutStanza[] } | { ok: false; reason: string };

/** The webhook body, byte for byte (app/status-view.ts). */
const eventJson = (type: string, timestamp: string, data: unknown) => eventBodyJson(type, timestamp, JSON.stringify(data));

export function createXmppChannel(deps: XmppChannelDeps): Channel {
  const { db, config } = deps.ctx;
  const { domain } = deps;
  const delays = config.webhooks.retryDelaysMs;

  async function build(d: DeliveryRecord): Promise<Built> {
    const timestamp = d.createdAt.toISOString();
    if (d.event === 'xmpp.notice') {
      const notice = d.payload.notice as XmppNotice | undefined;
      if (notice?.kind === 'presence') {
        const from = `${notice.handle}@${domain}`;
        return {
          ok: true,
          stanzas: (to) => [{ t: 'presence', to, from, type: notice.type }, ...(notice.type === 'subscribed' ? [{ t: 'presence' as const, to, from }] : [])],
        };
      }
      if (notice?.kind === 'link_code') {
        const body = `Your Twitterprise link code for @${notice.personHandle} is ${notice.code}. Send "confirm ${notice.code}" here within 15 minutes to link this address. If you did not ask for it, ignore this message.`;
        return { ok: true, stanzas: (to) => [{ t: 'message', to, from: domain, id: d.id, body }] };
      }
      return { ok: false, reason: 'unknown xmpp notice' };
    }
    if (!d.statusId) return { ok: false, reason: `xmpp does not carry ${d.event}` };
    const [r] = await db.select({ s: statuses, src: sources }).from(statuses).innerJoin(sources, eq(sources.id, statuses.sourceId)).where(eq(statuses.id, d.statusId)).limit(1);
    if (d.event === 'status.created') {
      if (!r || r.s.deletedAt) return { ok: false, reason: 'status deleted' };
      const view = toStatusView(config.publicUrl, r.s, r.src);
      const json = eventJson(d.event, timestamp, view);
      const from = `${r.src.handle}@${domain}`;
      return { ok: true, stanzas: (to) => [{ t: 'message', to, from, id: d.id, body: `${view.text}\n${view.url}`, json }] };
    }
    if (d.event === 'status.deleted') {
      const url = statusUrl(config.publicUrl, d.statusId);
      const json = eventJson(d.event, timestamp, statusDeletedData(config.publicUrl, d.statusId, r));
      const from = r ? `${r.src.handle}@${domain}` : domain;
      return { ok: true, stanzas: (to) => [{ t: 'message', to, from, id: d.id, body: `Deleted: ${url}`, json }] };
    }
    return { ok: false, reason: `xmpp does not carry ${d.event}` };
  }

  async function deliver(d: DeliveryRecord): Promise<DeliveryOutcome> {
    const to = d.subscriberKind === 'xmpp' ? [d.subscriberId] : d.subscriberKind === 'person' ? await jidsOf(db, d.subscriberId) : [];
    if (!to.length) return { kind: 'skip', reason: 'no linked XMPP address' };
    const built = await build(d);
    if (!built.ok) return { kind: 'skip', reason: built.reason };
    // One job per attempt (job ids may not repeat while the old one is kept); the stanza id stays the delivery id.
    const r = await deps.sender.send(`${d.id}-a${d.attempts}-${Date.now().toString(36)}`, to.flatMap(built.stanzas));
    return r.ok ? { kind: 'sent' } : { kind: 'retry', error: r.error };
  }

  return {
    route: 'xmpp',
    maxAttempts: delays.length + 1,
    backoffMs: (attempt) => delays[attempt - 1] ?? delays[delays.length - 1] ?? 0,
    deliver,
  };
}
