/** The part of `@xmpp/client` 0.14 (ESM, ships no types) the tests use to play apps and people. */
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';
  import type { Element } from '@xmpp/component';

  export interface Client extends EventEmitter {
    status: string;
    send(el: Element): Promise<void>;
    start(): Promise<unknown>;
    stop(): Promise<void>;
    /** Writes raw text to the socket (hostile-input tests). */
    write(s: string): Promise<void>;
    reconnect: EventEmitter & { delay: number; stop(): void };
  }

  export function client(options: { service: string; domain: string; username: string; password: string; resource?: string }): Client;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Element | string)[]): Element;
}
