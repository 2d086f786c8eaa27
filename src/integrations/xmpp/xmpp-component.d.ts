/**
 * The part of `@xmpp/component` 0.13 (CommonJS, ships no types) that Twitterprise uses. Read from the
 * package's source: `component({ service, domain, password })` returns the entity (an EventEmitter,
 * connection-tcp underneath) with `reconnect` (fixed `delay` between tries, ms) and `iqCaller`.
 */
declare module '@xmpp/component' {
  import type { EventEmitter } from 'node:events';

  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    toString(): string;
  }

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  export type Status = 'offline' | 'connecting' | 'connect' | 'opening' | 'open' | 'online' | 'closing' | 'close' | 'disconnecting' | 'disconnect';

  export interface Component extends EventEmitter {
    status: Status;
    jid: JID | null;
    /** Resolves once the stanza is written to the socket. */
    send(el: Element): Promise<void>;
    start(): Promise<JID>;
    stop(): Promise<void>;
    /** Closes the socket without the closing handshake (a forced reconnect). */
    disconnect(timeout?: number): Promise<void>;
    reconnect: EventEmitter & { delay: number; start(): void; stop(): void };
    iqCaller: { request(el: Element, timeout?: number): Promise<Element> };
  }

  export function component(options: { service: string; domain: string; password: string }): Component;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Element | string)[]): Element;
  export function jid(address: string): JID;
}
