import { createHash } from 'node:crypto';
import { Queue, type JobsOptions, type WorkerOptions } from 'bullmq';
import type { Logger } from '../log.js';
import { connectRedis, queueKeyPrefix, type RedisConnection, type RedisTarget } from '../redis.js';
import { z } from 'zod';

/** BullMQ queue names. Job ids never contain ':' (BullMQ uses it as its key separator). */
export const QUEUE = {
  fanOut: 'fan-out',
  deliver: 'deliver',
  deliverBatch: 'deliver-batch',
  retract: 'retract',
  release: 'release',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

const route = z.enum(['dm', 'email', 'channel', 'webhook', 'xmpp', 'sms']);

/** Statuses one fan-out job takes at most: the relay puts the new statuses of one of its batches together. */
export const STATUSES_PER_FAN_OUT = 100;

/**
 * One outbox row on its way to fan-out (job id `ob-<outboxId>`), or several new statuses together
 * (`statuses.created`, job id `obs-<first outbox id>-<hash of the ids>`): their deliveries share batch
 * jobs, so a burst of statuses with a few followers each costs a few jobs instead of two per status.
 */
export const fanOutJob = z.discriminatedUnion('event', [
  z.object({ outboxId: z.number().int(), event: z.literal('status.created'), payload: z.object({ statusId: z.string() }) }),
  z.object({
    outboxIds: z.array(z.number().int()).min(2).max(STATUSES_PER_FAN_OUT),
    event: z.literal('statuses.created'),
    payload: z.object({ statusIds: z.array(z.string()).min(2).max(STATUSES_PER_FAN_OUT) }),
  }),
  z.object({
    outboxId: z.number().int(),
    event: z.literal('status.deleted'),
    // deliveryIds: only these deliveries of the status (sends that were in flight when it was deleted).
    payload: z.object({ statusId: z.string(), deliveryIds: z.array(z.string()).min(1).max(1000).optional() }),
  }),
  z.object({ outboxId: z.number().int(), event: z.literal('follow.requested'), payload: z.object({ followId: z.string() }) }),
  z.object({
    outboxId: z.number().int(),
    event: z.literal('notice'),
    payload: z.object({ personId: z.string(), message: z.record(z.string(), z.unknown()), key: z.string().optional() }),
  }),
  z.object({
    outboxId: z.number().int(),
    event: z.literal('xmpp.notice'),
    payload: z.object({ jid: z.string(), notice: z.record(z.string(), z.unknown()), key: z.string() }),
  }),
]);
export type FanOutJob = z.infer<typeof fanOutJob>;

/** One delivery to attempt (job id = the delivery id; a re-send gets a fresh id). */
export const deliverJob = z.object({
  deliveryId: z.string(),
  route,
  /** How often a 429 has pushed this job back (those do not use up attempts). */
  throttled: z.number().int().optional(),
  /** Attempts made before this job (by the batch that handed the delivery over); the backoff counts them. */
  attemptsBefore: z.number().int().optional(),
});
export type DeliverJob = z.infer<typeof deliverJob>;

/**
 * Up to BATCH_SIZE deliveries of one route written by one fan-out page, attempted by one job (job id
 * `bt-<hash of the ids>`). A delivery that needs a retry leaves the batch for a deliver job of its own.
 */
export const deliverBatchJob = z.object({ route, deliveryIds: z.array(z.string()).min(1) });
export type DeliverBatchJob = z.infer<typeof deliverBatchJob>;

/** Delete the chat messages a delivery left (a deleted status). Job id `rt-<deliveryId>`. */
export const retractJob = z.object({ deliveryId: z.string() });
export type RetractJob = z.infer<typeof retractJob>;

/** End of one person's quiet hours: send what was held. Job id `rel-<personId>-<untilMs>`. */
export const releaseJob = z.object({ personId: z.string(), until: z.string() });
export type ReleaseJob = z.infer<typeof releaseJob>;

export const jobIds = {
  fanOut: (outboxId: number) => `ob-${outboxId}`,
  /** The same outbox rows make the same id, so rows relayed again after a crash add nothing while the job waits. */
  fanOutGroup: (outboxIds: readonly number[]) => `obs-${outboxIds[0]}-${createHash('sha256').update(outboxIds.join(',')).digest('base64url').slice(0, 16)}`,
  retract: (deliveryId: string) => `rt-${deliveryId}`,
  release: (personId: string, until: Date) => `rel-${personId}-${until.getTime()}`,
  /** The same deliveries make the same batch id, so a re-run fan-out adds nothing while the batch waits. */
  batch: (deliveryIds: readonly string[]) => `bt-${createHash('sha256').update(deliveryIds.join(',')).digest('base64url').slice(0, 24)}`,
  /** A re-send must not collide with the finished (or still kept) first job. */
  redeliver: (deliveryId: string, at: number) => `${deliveryId}-r${at}`,
};

/** Finished jobs are not history (the deliveries table is); keep a few failures for inspection. */
export const keepJobs: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
};

/**
 * Locks on running jobs, renewed every 7.5 s while their process lives. When a worker dies, its
 * jobs' locks lapse within 15 s and the next stall check (every 5 s, in any live worker) hands them
 * out again: about 25 s at most, where BullMQ's defaults (30 s locks, checked every 30 s) took up to
 * a minute. A false stall needs the event loop blocked for 15 s; it would repeat a delivery, never lose one.
 */
export const workerLocks = { lockDuration: 15_000, stalledInterval: 5_000 } satisfies Pick<WorkerOptions, 'lockDuration' | 'stalledInterval'>;

/** Lives in redis.ts (integrations name their own queues with it); exported here too for the queues' callers. */
export { queueKeyPrefix };

export interface Queues {
  fanOut: Queue<FanOutJob>;
  deliver: Queue<DeliverJob>;
  deliverBatch: Queue<DeliverBatchJob>;
  retract: Queue<RetractJob>;
  release: Queue<ReleaseJob>;
  /** QUEUE_PREFIX; each queue's own key prefix is `prefixFor(name)`. */
  prefix: string;
  /** The key prefix of one queue (see queueKeyPrefix). */
  prefixFor(queue: string): string;
  redis: RedisTarget;
  /** A connection for a Worker (blocking commands: maxRetriesPerRequest must be null). */
  workerConnection(): RedisConnection;
  /**
   * Sets the key that says this Redis holds our queues. True when it was missing: a Redis that is new
   * to us, or one that restarted without its data (src/pipeline/recover.ts then requeues from PostgreSQL).
   */
  claimMarker(): Promise<boolean>;
  /** Removes the marker again, so that the next check retries a requeue that failed. */
  dropMarker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The queues on one shared producer connection, each under its own hash-tagged key prefix
 * (queueKeyPrefix), so the same names work on one Redis and on a Redis Cluster. ioredis `keyPrefix`
 * would break BullMQ's Lua scripts.
 */
export function createQueues(redis: RedisTarget, prefix: string, log?: Logger): Queues {
  // Producers fail after a few reconnection attempts instead of waiting forever for Redis: the relay
  // rolls back and retries at its next poll, an API call answers with an error.
  const connection = connectRedis(redis, { maxRetriesPerRequest: 3 });
  const workers: RedisConnection[] = [];
  const prefixFor = (queue: string) => queueKeyPrefix(prefix, queue);
  const queue = <T>(name: string) => new Queue<T>(name, { connection, prefix: prefixFor(name) });
  const markerKey = `${prefixFor('marker')}:twitterprise:queues`;
  const q = {
    fanOut: queue<FanOutJob>(QUEUE.fanOut),
    deliver: queue<DeliverJob>(QUEUE.deliver),
    deliverBatch: queue<DeliverBatchJob>(QUEUE.deliverBatch),
    retract: queue<RetractJob>(QUEUE.retract),
    release: queue<ReleaseJob>(QUEUE.release),
  };
  // An EventEmitter 'error' without a listener would crash the process when Redis goes away.
  const onError = (err: Error) => log?.error({ err }, 'redis connection error (queues)');
  connection.on('error', onError);
  for (const queue of Object.values(q)) queue.on('error', onError);
  let closing: Promise<void> | null = null;
  return {
    ...q,
    prefix,
    prefixFor,
    redis,
    async claimMarker() {
      return (await connection.set(markerKey, new Date().toISOString(), 'NX')) === 'OK';
    },
    async dropMarker() {
      await connection.del(markerKey);
    },
    workerConnection() {
      const c = connectRedis(redis, { maxRetriesPerRequest: null });
      c.on('error', (err: Error) => log?.error({ err }, 'redis connection error (worker)'));
      workers.push(c);
      return c;
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled(Object.values(q).map((x) => x.close()));
        await Promise.allSettled([connection, ...workers].map((c) => c.quit()));
      })();
      return closing;
    },
  };
}
