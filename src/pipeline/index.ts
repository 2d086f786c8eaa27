import type { AppContext } from '../app/context.js';
import { createWebhookChannel } from '../integrations/webhooks/channel.js';
import type { LookupFn } from '../net/address-guard.js';
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

/** Every route's channel: chat DMs and channels through the messengers, the digest, webhooks. */
export function defaultChannels(opts: { ctx: AppContext; messengers: Messengers; lookup?: LookupFn }): ChannelRegistry {
  return {
    dm: createDmChannel(opts),
    channel: createChatChannel(opts),
    email: emailDigestChannel,
    webhook: createWebhookChannel({ ctx: opts.ctx, ...(opts.lookup ? { lookup: opts.lookup } : {}) }),
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
  /** Replace single routes (tests); the rest come from defaultChannels. */
  channels?: Partial<ChannelRegistry>;
  lookup?: LookupFn;
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
  const channels: ChannelRegistry = { ...defaultChannels({ ctx, messengers: opts.messengers, ...(opts.lookup ? { lookup: opts.lookup } : {}) }), ...opts.channels };
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
