import { xml, type Element } from '@xmpp/component';
import type { AppContext } from '../../app/context.js';
import { executeXmppCommand } from '../../app/xmpp-commands.js';
import { isSubscribed, subscribeByPresence, unsubscribeByPresence } from '../../app/xmpp-addresses.js';
import { bareJid, jidDomain, jidLocal } from '../../core/jid.js';
import { chatMessage } from './stanzas.js';

/**
 * Stanzas addressed to the component (SPEC section 8):
 * - presence `subscribe` to `<handle>@XMPP_DOMAIN` is the opt-in (RFC 6121 section 3); `unsubscribe`
 *   ends it; `probe` is answered `available` for contacts the address receives, so clients show them online;
 * - a chat message to the bare domain is a command in the one grammar, answered from the bare domain.
 * The server has already refused bad XML and stanzas over its size limit; what is left to bound is
 * volume: a token bucket per bare JID (a flood from one address is dropped, others go on), bodies over
 * MAX_BODY, and a cap on the work in flight.
 */

/** A status is at most 1,000 characters; a command is shorter. Anything longer is not read. */
export const MAX_BODY = 4000;
const BUCKET = { burst: 20, perSecond: 2 };
const MAX_TRACKED = 10_000;
const MAX_IN_FLIGHT = 64;

export interface InboundDeps {
  ctx: AppContext;
  domain: string;
  send(el: Element): Promise<void>;
}

export interface Inbound {
  handle(el: Element): void;
  /** Settles when the work in flight is done (shutdown, tests). */
  idle(): Promise<void>;
}

export function createInbound(deps: InboundDeps): Inbound {
  const { ctx, domain } = deps;
  const log = ctx.log.child({ name: 'xmpp-inbound' });
  const buckets = new Map<string, { tokens: number; at: number; warned: number }>();
  const inFlight = new Set<Promise<void>>();

  function allow(jid: string): boolean {
    const now = Date.now();
    let b = buckets.get(jid);
    if (!b) {
      if (buckets.size >= MAX_TRACKED) {
        // Oldest first (Map keeps insertion order): forgetting a quiet address only refills its bucket.
        const first = buckets.keys().next();
        if (!first.done) buckets.delete(first.value);
      }
      b = { tokens: BUCKET.burst, at: now, warned: 0 };
      buckets.set(jid, b);
    }
    b.tokens = Math.min(BUCKET.burst, b.tokens + ((now - b.at) / 1000) * BUCKET.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    if (now - b.warned > 60_000) {
      b.warned = now;
      log.warn({ jid }, 'xmpp address over its rate; dropping its stanzas for now');
    }
    return false;
  }

  const reply = (el: Element) => deps.send(el).catch((err: unknown) => log.debug({ err }, 'reply not sent'));

  async function presence(el: Element, from: string, jid: string, handle: string): Promise<void> {
    const contact = `${handle}@${domain}`;
    switch (el.attrs.type) {
      case 'subscribe': {
        const r = await subscribeByPresence(ctx, jid, handle);
        if (r.kind === 'subscribed') {
          await reply(xml('presence', { from: contact, to: jid, type: 'subscribed' }));
          await reply(xml('presence', { from: contact, to: jid }));
        } else if (r.kind === 'refused') {
          await reply(xml('presence', { from: contact, to: jid, type: 'unsubscribed' }));
        } else {
          await reply(chatMessage(domain, from, `@${handle} is protected: your request to follow it went to its owners. You will get their answer as a contact request answer.`));
        }
        return;
      }
      case 'unsubscribe':
        await unsubscribeByPresence(ctx, jid, handle);
        await reply(xml('presence', { from: contact, to: jid, type: 'unsubscribed' }));
        return;
      case 'probe':
        // Not subscribed (or a request still pending): no answer, so a pending request is not cancelled.
        if (await isSubscribed(ctx, jid, handle)) await reply(xml('presence', { from: contact, to: from }));
        return;
      default:
        // available / unavailable / subscribed / unsubscribed from the address: nothing to do.
        return;
    }
  }

  async function message(el: Element, from: string, jid: string, local: string): Promise<void> {
    const type = el.attrs.type ?? 'normal';
    if (type === 'error' || type === 'groupchat' || type === 'headline') return;
    const body = el.getChildText('body');
    if (body === null || body.trim() === '') return;
    if (local !== '') {
      await reply(chatMessage(`${local}@${domain}`, from, `Commands go to ${domain}; this contact only sends statuses.`));
      return;
    }
    if (body.length > MAX_BODY) {
      await reply(chatMessage(domain, from, `That message is too long (over ${MAX_BODY} characters); a status is at most 1,000.`));
      return;
    }
    const answer = await executeXmppCommand(ctx, { jid, text: body });
    await reply(chatMessage(domain, from, answer.text));
  }

  async function route(el: Element, fromRaw: string, toRaw: string, jid: string): Promise<void> {
    const local = jidLocal(toRaw);
    if (el.name === 'presence') {
      if (local === '') return;
      await presence(el, fromRaw, jid, local);
    } else if (el.name === 'message') {
      await message(el, fromRaw, jid, local);
    }
    // iq: the library's callee answers every request we do not handle with service-unavailable.
  }

  return {
    handle(el) {
      // Checked before any work is queued: a flood from one address never takes the others' places.
      const fromRaw = el.attrs.from;
      const toRaw = el.attrs.to;
      if (!fromRaw || !toRaw) return;
      const jid = bareJid(fromRaw);
      if (!jid || jidDomain(toRaw) !== domain) return;
      if (!allow(jid)) return;
      if (inFlight.size >= MAX_IN_FLIGHT) {
        log.warn('too much inbound XMPP work in flight; stanza dropped');
        return;
      }
      const p: Promise<void> = route(el, fromRaw, toRaw, jid)
        .catch((err: unknown) => log.error({ err, stanza: el.name }, 'inbound stanza failed'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    async idle() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
