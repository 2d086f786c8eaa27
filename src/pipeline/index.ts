import type { AppContext } from '../app/context.js';
import type { ChannelRegistry } from './channel.js';
import { createChatChannel } from './channels/chat-channel.js';
import { createDmChannel } from './channels/dm.js';
import { emailDigestChannel } from './channels/email-digest.js';
import { notConfiguredChannel } from './channels/not-configured.js';
import { redeliver, sendTestEvent } from './commands.js';
import { createEnqueuer, type Enqueuer } from './enqueue.js';
import type { Messengers } from './messenger.js';
import type { PipelineMetrics } from './metrics.js';
import { createQueues, type Queues } from './queues.js';
import type { RedisTarget } from '../redis.js';
import { startRelay, type Relay } from './relay.js';
import { maxAttemptsOf, startWorkers, type Workers } from './worker.js';

export { redeliver, sendTestEvent, type CommandDeps } from './commands.js';
export { startWorkers, type StartWorkersOptions, type Workers } from './worker.js';
export type { PipelineMetrics } from './metrics.js';

/**
 * The channels that live in integrations/ and that main.ts registers: webhooks always (and XMPP, SMS
 * when configured, over the placeholders below). The pipeline never imports an integration.
 */
export type IntegrationChannels = Pick<ChannelRegistry, 'webhook'> & Partial<ChannelRegistry>;

/** The routes the pipeline serves itself: chat DMs and channels through the messengers, the digest; routes not configured skip. */
export function defaultChannels(opts: { ctx: AppContext; messengers: Messengers }): Omit<ChannelRegistry, 'webhook'> {
  return {
    dm: createDmChannel(opts),
    channel: createChatChannel(opts),
    email: emailDigestChannel,
    sms: notConfiguredChannel('sms', 'SMS is not configured on this server'),
    // main.ts puts the XMPP integration's channel here when XMPP_SERVICE is set.
    xmpp: notConfiguredChannel('xmpp', 'XMPP is not configured on this server'),
  };
}

export interface PipelineOptions {
  ctx: AppContext;
  redisUrl: RedisTarget;
  prefix: string;
  messengers: Messengers;
  metrics?: PipelineMetrics | undefined;
  /** web: relay + commands; worker and all: also every worker. */
  role: 'web' | 'worker' | 'all';
  /** The integrations' channels (main.ts), and any route a test replaces; the rest come from defaultChannels. */
  channels: IntegrationChannels;
}

export interface Pipeline {
  queues: Queues;
  enqueue: Enqueuer;
  relay: Relay;
  /** Outbox rows were just committed: relay them now (debounced). */
  kick(): void;
  /** A `webhook.test` event to one endpoint, sent now. */
  sendTestEvent(webhookId: string): Promise<{ deliveryId: string }>;
  /** Re-sends one delivery with the same delivery id / `webhook-id`; DomainError when it may not. */
  redeliver(deliveryId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The pipeline for one process. Every role runs the outbox relay (so `kick` after a post enqueues at
 * once; relays on several processes share the work through `skip locked`); worker roles also process.
 */
export async function createPipeline(opts: PipelineOptions): Promise<Pipeline> {
  const { ctx } = opts;
  const channels: ChannelRegistry = { ...defaultChannels({ ctx, messengers: opts.messengers }), ...opts.channels };
  const queues = createQueues(opts.redisUrl, opts.prefix, ctx.log.child({ name: 'queues' }));
  const enqueue = createEnqueuer(queues, maxAttemptsOf(channels));
  const relay = startRelay({ ctx, fanOut: queues.fanOut, metrics: opts.metrics });
  let workers: Workers | null = null;
  if (opts.role !== 'web') {
    workers = startWorkers({ ctx, redisUrl: opts.redisUrl, prefix: opts.prefix, channels, messengers: opts.messengers, metrics: opts.metrics, queues, relay: false });
  }
  const deps = { ctx, enqueue };
  let closing: Promise<void> | null = null;
  return {
    queues,
    enqueue,
    relay,
    kick: () => relay.kick(),
    sendTestEvent: (webhookId) => sendTestEvent(deps, webhookId),
    redeliver: (deliveryId) => redeliver(deps, deliveryId),
    close() {
      closing ??= (async () => {
        await relay.close();
        await workers?.close();
        await queues.close();
      })();
      return closing;
    },
  };
}
