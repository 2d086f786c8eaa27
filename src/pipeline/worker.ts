import { Worker } from 'bullmq';
import type { AppContext } from '../app/context.js';
import type { Route } from '../core/types.js';
import type { ChannelRegistry } from './channel.js';
import { createDeliverBatchWorker } from './deliver-batch.js';
import { createDeliverWorker } from './deliver-worker.js';
import { createEnqueuer, type Enqueuer } from './enqueue.js';
import { fanOut } from './fan-out.js';
import type { Messengers } from './messenger.js';
import type { PipelineMetrics } from './metrics.js';
import { createQueues, fanOutJob, QUEUE, releaseJob, retractJob, workerLocks, type Queues } from './queues.js';
import { startHousekeeping } from './housekeeping.js';
import { drainLegacyQueues } from './legacy-queues.js';
import { watchForLostQueues } from './recover.js';
import { startRelay, type Relay } from './relay.js';
import { releaseHeld } from './release.js';
import { retractDelivery } from './retract.js';
import type { RedisTarget } from '../redis.js';

export interface StartWorkersOptions {
  ctx: AppContext;
  redisUrl: RedisTarget;
  /** QUEUE_PREFIX; each queue's keys go under its own hash tag (queueKeyPrefix). */
  prefix: string;
  channels: ChannelRegistry;
  messengers: Messengers;
  metrics?: PipelineMetrics | undefined;
  /** Share queues with the caller (createPipeline); otherwise made here and closed by close(). */
  queues?: Queues;
  /** Run the outbox relay here too (default true; the web role runs its own). */
  relay?: boolean;
  /** Sends in flight per process, for batches and for lone deliveries each (default WORKER_CONCURRENCY). */
  concurrency?: number;
  /** Outbox poll interval (default 1 s). */
  pollMs?: number;
}

export interface Workers {
  queues: Queues;
  enqueue: Enqueuer;
  relay: Relay | null;
  /** Relay outbox rows now (debounced). */
  kick(): void;
  /** Drains: stops taking jobs, lets running ones finish (or return to the queue), closes connections. */
  close(): Promise<void>;
}

export const maxAttemptsOf = (channels: ChannelRegistry): Record<Route, number> =>
  Object.fromEntries(Object.entries(channels).map(([route, c]) => [route, c.maxAttempts])) as Record<Route, number>;

/** The worker role: outbox relay, fan-out, deliveries, retractions and quiet-hours releases. */
export function startWorkers(opts: StartWorkersOptions): Workers {
  const { ctx } = opts;
  const log = ctx.log.child({ name: 'pipeline' });
  const ownQueues = !opts.queues;
  const queues = opts.queues ?? createQueues(opts.redisUrl, opts.prefix, log);
  const enqueue = createEnqueuer(queues, maxAttemptsOf(opts.channels));
  const concurrency = opts.concurrency ?? ctx.config.workerConcurrency;
  const on = (queue: string) => ({ prefix: queues.prefixFor(queue), ...workerLocks });

  const fanOutWorker = new Worker(QUEUE.fanOut, (job) => fanOut({ ctx, enqueue }, fanOutJob.parse(job.data)), {
    ...on(QUEUE.fanOut),
    connection: queues.workerConnection(),
    // Each fan-out pages through followers itself; a few at once keep the database busy enough.
    concurrency: Math.max(1, Math.min(8, concurrency)),
  });
  const deliverOpts = { ctx, channels: opts.channels, enqueue, metrics: opts.metrics, concurrency };
  const deliverWorker = createDeliverWorker({ ...deliverOpts, prefix: queues.prefixFor(QUEUE.deliver), connection: queues.workerConnection() });
  const batchWorker = createDeliverBatchWorker({ ...deliverOpts, prefix: queues.prefixFor(QUEUE.deliverBatch), connection: queues.workerConnection() });
  const retractWorker = new Worker(QUEUE.retract, (job) => retractDelivery({ ctx, messengers: opts.messengers }, retractJob.parse(job.data).deliveryId), {
    ...on(QUEUE.retract),
    connection: queues.workerConnection(),
    concurrency: Math.max(1, Math.min(16, concurrency)),
  });
  const releaseWorker = new Worker(
    QUEUE.release,
    (job) => releaseHeld({ ctx, messengers: opts.messengers, metrics: opts.metrics }, releaseJob.parse(job.data).personId),
    { ...on(QUEUE.release), connection: queues.workerConnection(), concurrency: Math.max(1, Math.min(8, concurrency)) },
  );
  const workers = [fanOutWorker, batchWorker, deliverWorker, retractWorker, releaseWorker];
  for (const w of workers) {
    w.on('error', (err) => log.error({ err, queue: w.name }, 'worker error'));
    w.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) log.warn({ err, queue: w.name, jobId: job.id }, 'job failed for good');
    });
  }

  const housekeeping = startHousekeeping(ctx);
  const legacy = drainLegacyQueues({ redis: queues.redis, queues, log });
  const recovery = watchForLostQueues({ ctx, queues, enqueue });
  const relay = opts.relay === false ? null : startRelay({ ctx, fanOut: queues.fanOut, metrics: opts.metrics, pollMs: opts.pollMs });
  let closing: Promise<void> | null = null;
  return {
    queues,
    enqueue,
    relay,
    kick: () => relay?.kick(),
    close() {
      closing ??= (async () => {
        housekeeping.stop();
        recovery.stop();
        await legacy?.stop();
        await relay?.close();
        // Fan-out first, so the deliver jobs it adds while finishing still land before the rest stop.
        await fanOutWorker.close();
        await Promise.all([batchWorker.close(), deliverWorker.close(), retractWorker.close(), releaseWorker.close()]);
        if (ownQueues) await queues.close();
      })();
      return closing;
    },
  };
}
