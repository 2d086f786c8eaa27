import type { AppContext } from '../../app/context.js';
import type { Channel } from '../../pipeline/channel.js';
import type { RedisTarget } from '../../redis.js';
import { createXmppChannel } from './channel.js';
import { createComponentConnection, type ComponentConnection } from './connection.js';
import { createInbound } from './inbound.js';
import { startLeadership, type Leadership } from './leader.js';
import { createXmppSender, startSendConsumer, type SendConsumer } from './send-queue.js';

/**
 * XMPP (SPEC section 8), loaded by main.ts only when XMPP_SERVICE, XMPP_DOMAIN and XMPP_SECRET are set.
 * Every worker gets the `xmpp` channel (its sends go through the send queue); one worker at a time,
 * the holder of the advisory lock, runs the component connection, consumes the send queue and answers
 * inbound presence and commands.
 */

export interface XmppIntegrationOptions {
  redis: RedisTarget;
  /** QUEUE_PREFIX. */
  prefix: string;
  /** Connection tuning (tests). */
  pingTimeoutMs?: number;
  keepaliveMs?: number;
  waitMs?: number;
  leaderPollMs?: number;
}

export interface XmppIntegration {
  readonly channel: Channel;
  /** Competes for the component connection (worker roles). */
  start(): void;
  /** Whether this process holds the connection and it is up. */
  readonly online: boolean;
  readonly leader: boolean;
  stop(): Promise<void>;
}

export function createXmppIntegration(ctx: AppContext, opts: XmppIntegrationOptions): XmppIntegration {
  const xmpp = ctx.config.xmpp;
  if (!xmpp) throw new Error('XMPP is not configured');
  const log = ctx.log.child({ name: 'xmpp' });
  const queueOpts = { redis: opts.redis, prefix: opts.prefix, log, ...(opts.waitMs ? { waitMs: opts.waitMs } : {}) };
  const sender = createXmppSender(queueOpts);
  const channel = createXmppChannel({ ctx, domain: xmpp.domain, sender });
  let leadership: Leadership | null = null;
  let component: ComponentConnection | null = null;
  let consumer: SendConsumer | null = null;
  let inbound: ReturnType<typeof createInbound> | null = null;

  async function acquire(): Promise<void> {
    const conn = createComponentConnection({
      service: xmpp!.service,
      domain: xmpp!.domain,
      secret: xmpp!.secret,
      log,
      onStanza: (el) => inbound?.handle(el),
      ...(opts.pingTimeoutMs ? { pingTimeoutMs: opts.pingTimeoutMs } : {}),
      ...(opts.keepaliveMs ? { keepaliveMs: opts.keepaliveMs } : {}),
    });
    component = conn;
    inbound = createInbound({ ctx, domain: xmpp!.domain, send: (el) => conn.send(el) });
    consumer = startSendConsumer({ ...queueOpts, component: conn });
    conn.start();
  }

  async function release(): Promise<void> {
    const c = consumer;
    const conn = component;
    consumer = null;
    component = null;
    await c?.close();
    await conn?.stop();
    await inbound?.idle();
    inbound = null;
  }

  return {
    channel,
    start() {
      leadership ??= startLeadership({
        databaseUrl: ctx.config.databaseUrl,
        name: `xmpp:${xmpp.domain}`,
        log,
        onAcquire: acquire,
        onLose: release,
        ...(opts.leaderPollMs ? { pollMs: opts.leaderPollMs } : {}),
      });
    },
    get online() {
      return component?.online ?? false;
    },
    get leader() {
      return leadership?.leader ?? false;
    },
    async stop() {
      await leadership?.stop();
      await release();
      await sender.close();
    },
  };
}

