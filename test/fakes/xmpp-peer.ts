import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/component';
import { waitUntil } from '../helpers/wait.js';
import type { Prosody } from './prosody.js';

/**
 * A real XMPP client (@xmpp/client over c2s to the test Prosody) playing an app or a person: it keeps
 * every stanza it receives so a test can wait for the one it expects.
 */
export interface Peer {
  jid: string;
  client: Client;
  received: Element[];
  send(el: Element): Promise<void>;
  /** presence type=subscribe|unsubscribe to `handle@component`. */
  presence(to: string, type?: string): Promise<void>;
  chat(to: string, body: string): Promise<void>;
  /** Waits for a received stanza matching `pred` (10 s), returns it. */
  waitFor(pred: (el: Element) => boolean, what?: string, timeoutMs?: number): Promise<Element>;
  messages(): Element[];
  stop(): Promise<void>;
}

let counter = 0;

export async function connectPeer(prosody: Prosody, user: string, password = 'pw'): Promise<Peer> {
  const c = client({ service: prosody.clientService, domain: prosody.domain, username: user, password, resource: `r${++counter}` });
  c.reconnect.stop();
  const received: Element[] = [];
  c.on('error', () => {});
  c.on('stanza', (el: Element) => received.push(el));
  await c.start();
  // Fetching the roster makes this an "interested resource" (RFC 6121 2.1.6): Prosody delivers
  // subscription answers and roster pushes only to those.
  await c.send(xml('iq', { type: 'get', id: `roster-${counter}` }, xml('query', { xmlns: 'jabber:iq:roster' })));
  // Initial presence: Prosody delivers messages to the bare JID only to an available resource, and
  // probes the contacts the user is subscribed to.
  await c.send(xml('presence'));
  const jid = `${user}@${prosody.domain}`;
  return {
    jid,
    client: c,
    received,
    send: (el) => c.send(el),
    presence: (to, type) => c.send(xml('presence', { to, ...(type ? { type } : {}) })),
    chat: (to, body) => c.send(xml('message', { to, type: 'chat' }, xml('body', {}, body))),
    async waitFor(pred, what = 'a stanza', timeoutMs = 15_000) {
      let hit: Element | undefined;
      await waitUntil(() => (hit = received.find(pred)) !== undefined, what, timeoutMs);
      return hit!;
    },
    messages: () => received.filter((el) => el.name === 'message'),
    async stop() {
      await c.stop().catch(() => {});
    },
  };
}
