import { Queue, Worker } from 'bullmq';
import type { AppContext } from '../../app/context.js';
import { connectRedis, queueKeyPrefix, type RedisTarget } from '../../redis.js';
import { sendDueDigests } from './digest.js';
import type { Mailer } from './transport.js';

export const DIGEST_QUEUE = 'digests';
export const DIGEST_SCHEDULER_ID = 'digests-tick';

export interface DigestSchedulerOptions {
  ctx: AppContext;
  redisUrl: RedisTarget;
  /** QUEUE_PREFIX (the digest queue's keys go under its own hash tag, as every queue's). */
  prefix: string;
  mailer: Mailer;
  /** How often to look for due digests; one minute, since `digest_at` may be any minute. */
  everyMs?: number;
}

export interface DigestScheduler {
  /** Stops this process's worker (waiting for a running tick); the scheduler stays for other workers. */
  close(): Promise<void>;
}

/**
 * One BullMQ job scheduler for all digests, not one per person: every tick runs `sendDueDigests`,
 * which works out who is due from each person's period, time and time zone. Hourly, daily and weekly
 * digests can each fall on any minute of any time zone, so separate per-period schedulers would all
 * need to tick every minute anyway. Upserting is idempotent, so every worker process may call this;
 * only one job exists per tick, and `digest_runs` keeps a digest single even when ticks overlap.
 */
export async function startDigestScheduler(opts: DigestSchedulerOptions): Promise<DigestScheduler> {
  const log = opts.ctx.log.child({ name: 'digest-scheduler' });
  // BullMQ needs maxRetriesPerRequest: null on worker connections (blocking commands).
  const queueConnection = connectRedis(opts.redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = connectRedis(opts.redisUrl, { maxRetriesPerRequest: null });
  const prefix = queueKeyPrefix(opts.prefix, DIGEST_QUEUE);
  const queue = new Queue(DIGEST_QUEUE, { connection: queueConnection, prefix });
  const worker = new Worker(
    DIGEST_QUEUE,
    async () => {
      const r = await sendDueDigests(opts.ctx, { mailer: opts.mailer });
      return { sent: r.sent.length, empty: r.empty, failed: r.failed };
    },
    { connection: workerConnection, prefix, concurrency: 1 },
  );
  worker.on('failed', (job, err) => log.error({ err, jobId: job?.id }, 'digest tick failed'));
  worker.on('error', (err) => log.error({ err }, 'digest worker error'));
  const everyMs = opts.everyMs ?? 60_000;
  // A tick is cheap to lose (the next one catches up), so no retries and no history kept.
  const upsert = () => queue.upsertJobScheduler(DIGEST_SCHEDULER_ID, { every: everyMs }, { name: 'send-due-digests', data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 } });
  try {
    await upsert();
  } catch (err) {
    await worker.close();
    await queue.close();
    queueConnection.disconnect();
    workerConnection.disconnect();
    throw err;
  }
  log.info({ everyMs }, 'digest scheduler running');
  // A Redis that restarted without its data has forgotten the scheduler: each tick period, put it back if it is gone.
  const watch = setInterval(() => {
    void queue
      .getJobScheduler(DIGEST_SCHEDULER_ID)
      .then(async (found) => {
        if (found) return;
        await upsert();
        log.warn('the digest scheduler was gone from Redis; set again');
      })
      .catch(() => undefined);
  }, everyMs);
  watch.unref();
  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= (async () => {
        clearInterval(watch);
        await worker.close();
        await queue.close();
        await Promise.allSettled([queueConnection.quit(), workerConnection.quit()]);
      })();
      return closing;
    },
  };
}
