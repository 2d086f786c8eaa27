import { xml, type Element } from '@xmpp/component';
import { z } from 'zod';

/**
 * What the component sends, as plain data: the channel (in any worker) builds it, the send queue carries
 * it, and only the connection's holder turns it into XML (SPEC section 8: one component connection).
 */
export const outStanza = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('message'),
    to: z.string(),
    from: z.string(),
    /** The delivery id: stable across retries, so a receiver dedupes on it. */
    id: z.string(),
    body: z.string(),
    /** The webhook event as JSON (XEP-0335 JSON Containers). */
    json: z.string().optional(),
  }),
  z.object({
    t: z.literal('presence'),
    to: z.string(),
    from: z.string(),
    /** RFC 6121 subscription answers; absent = available. */
    type: z.enum(['subscribed', 'unsubscribed', 'unavailable']).optional(),
  }),
]);
export type OutStanza = z.infer<typeof outStanza>;

/** XEP-0335 JSON Containers. */
export const NS_JSON = 'urn:xmpp:json:0';
/** XEP-0199 XMPP Ping. */
export const NS_PING = 'urn:xmpp:ping';

export function toElement(s: OutStanza): Element {
  if (s.t === 'presence') return xml('presence', { to: s.to, from: s.from, ...(s.type ? { type: s.type } : {}) });
  const children = [xml('body', {}, s.body)];
  if (s.json !== undefined) children.push(xml('json', { xmlns: NS_JSON }, s.json));
  return xml('message', { type: 'chat', to: s.to, from: s.from, id: s.id }, ...children);
}

/** A chat answer from the component's bare domain (command replies). */
export function chatMessage(from: string, to: string, body: string, id?: string): Element {
  return xml('message', { type: 'chat', from, to, ...(id ? { id } : {}) }, xml('body', {}, body));
}
