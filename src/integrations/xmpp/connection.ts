import { EventEmitter } from 'node:events';
import { component, xml, type Component, type Element } from '@xmpp/component';
import type { Logger } from '../../log.js';
import { NS_PING } from './stanzas.js';

/**
 * The one component connection (XEP-0114: TCP to the server's component port, a handshake of
 * SHA-1(stream id + secret)). The server accepts one connection per component domain and refuses a
 * second with a `<conflict/>` stream error, so only the holder of the advisory lock runs this.
 *
 * Reconnects with backoff (1 s doubling to 30 s, with jitter) whenever the stream ends: a fresh entity
 * each time, so no state of the broken stream is reused. XEP-0114 has no acknowledgements: a stanza
 * written to the socket may still be lost if the server dies before routing it. `flush()` closes that
 * gap: one XEP-0199 ping after a run of sends, answered (result or error) only once the server has
 * processed everything before it on the stream, so a send counts only when the server has it.
 */

export interface ComponentOptions {
  service: string;
  domain: string;
  secret: string;
  log: Logger;
  /** Every inbound stanza (the server has already checked it is well-formed and within its size limits). */
  onStanza(el: Element): void;
  /** Most time a ping may take before the stream counts as dead (default 10 s). */
  pingTimeoutMs?: number;
  /** Idle ping interval that notices a silently dead TCP connection (default 30 s). */
  keepaliveMs?: number;
}

export interface ComponentConnection extends EventEmitter<{ online: []; offline: [] }> {
  readonly online: boolean;
  /** Writes one stanza; rejects when the stream is not up. */
  send(el: Element): Promise<void>;
  /** Resolves once the server has processed every stanza written before this call. */
  flush(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

export function backoffMs(failures: number): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** The server that hosts the component: `tp.example.com` -> `example.com` (the ping goes there). */
export function parentDomain(domain: string): string {
  const i = domain.indexOf('.');
  return i === -1 ? domain : domain.slice(i + 1);
}

export function createComponentConnection(opts: ComponentOptions): ComponentConnection {
  const log = opts.log.child({ name: 'xmpp-connection' });
  const pingTimeoutMs = opts.pingTimeoutMs ?? 10_000;
  const keepaliveMs = opts.keepaliveMs ?? 30_000;
  const emitter = new EventEmitter<{ online: []; offline: [] }>();
  const abort = new AbortController();
  let current: Component | null = null;
  let running: Promise<void> | null = null;
  let lostStream: (() => void) | null = null;
  /** The flush waiting for its ping: every send before it is fired is covered by it. */
  let nextFlush: Promise<void> | null = null;

  async function ping(entity: Component): Promise<void> {
    const iq = xml('iq', { type: 'get', to: parentDomain(opts.domain), from: opts.domain }, xml('ping', { xmlns: NS_PING }));
    try {
      await entity.iqCaller.request(iq, pingTimeoutMs);
    } catch (err) {
      // An error answer is still an answer: the server processed the stream up to the ping.
      if (err instanceof Error && err.name === 'StanzaError') return;
      throw err;
    }
  }

  /** One connected stream, from connect to its end. Resolves when it ends; throws when it never came up. */
  async function session(): Promise<void> {
    const entity = component({ service: opts.service, domain: opts.domain, password: opts.secret });
    // Our own loop reconnects (with backoff); the library's fixed 1 s retry would fight it.
    entity.reconnect.stop();
    entity.on('error', (err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'xmpp stream error'));
    entity.on('stanza', (el: Element) => {
      try {
        opts.onStanza(el);
      } catch (err) {
        log.error({ err }, 'inbound stanza handler threw');
      }
    });
    const ended = new Promise<void>((resolve) => {
      entity.once('disconnect', () => resolve());
      entity.once('offline', () => resolve());
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        entity.start(),
        ended.then(() => Promise.reject(new Error('the server closed the stream'))),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no handshake within 15 s')), 15_000);
        }),
      ]);
    } catch (err) {
      await entity.stop().catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
    current = entity;
    log.info({ domain: opts.domain, service: opts.service }, 'xmpp component online');
    emitter.emit('online');
    const keepalive = setInterval(() => {
      ping(entity).catch((err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'xmpp keepalive ping failed; reconnecting');
        entity.disconnect().catch(() => {});
      });
    }, keepaliveMs);
    await Promise.race([ended, new Promise<void>((resolve) => (lostStream = resolve))]);
    clearInterval(keepalive);
    current = null;
    lostStream = null;
    emitter.emit('offline');
    log.warn('xmpp component offline; reconnecting');
    await entity.stop().catch(() => {});
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!abort.signal.aborted) {
      let cameUp = false;
      try {
        const s = session();
        await s;
        cameUp = true;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 10 === 0) log.warn({ err: err instanceof Error ? err.message : String(err), failures }, 'xmpp component cannot connect; retrying');
      }
      if (cameUp) failures = 1;
      if (abort.signal.aborted) break;
      await sleep(backoffMs(failures), abort.signal);
    }
  }

  // A getter: Object.assign would copy its value once instead.
  Object.defineProperty(emitter, 'online', { get: () => current !== null && current.status === 'online' });
  const conn = Object.assign(emitter, {
    async send(el: Element) {
      const entity = current;
      if (!entity || entity.status !== 'online') throw new Error('XMPP component not connected');
      await entity.send(el);
    },
    flush(): Promise<void> {
      const entity = current;
      if (!entity) return Promise.reject(new Error('XMPP component not connected'));
      if (!nextFlush) {
        // Sends of this turn of the event loop share one ping.
        nextFlush = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          nextFlush = null;
          return ping(entity);
        });
      }
      return nextFlush;
    },
    start() {
      running ??= loop();
    },
    async stop() {
      abort.abort();
      const entity = current;
      lostStream?.();
      if (entity) await entity.stop().catch(() => {});
      await running;
    },
  });
  return conn as ComponentConnection;
}
