import { Queue, type Job } from 'bullmq';
import type { Logger } from '../log.js';
import { connectRedis, type RedisTarget } from '../redis.js';
import { QUEUE, type Queues } from './queues.js';

/** Every queue name that ever lived under the bare QUEUE_PREFIX (before each queue had its own hash tag). */
const LEGACY_QUEUES = [QUEUE.fanOut, QUEUE.deliver, QUEUE.deliverBatch, QUEUE.retract, QUEUE.release] as const;
/** The digest tick had a scheduler of its own there; it is removed, not moved (the new one replaces it). */
const LEGACY_DIGESTS = { queue: 'digests', scheduler: 'digests-tick' };
const STATES = ['waiting', 'delayed', 'prioritized', 'waiting-children'] as const;

export interface LegacyDrain {
  /** Resolves when a running pass has finished. */
  stop(): Promise<void>;
}

/**
 * The upgrade from untagged queue keys (`tp:deliver:*`) to one hash tag per queue (`{tp:deliver}:deliver:*`):
 * jobs still waiting or delayed under the old names move to the new queues, with their id, data, options
 * and the delay they had left, and the old queue is removed once it holds nothing. Jobs that an older
 * process is running finish there; if that process dies, they stall back to waiting and the next pass
 * moves them. A job moved twice (a crash between add and remove) keeps its id, so the add is a no-op
 * while the first copy waits; at worst a delivery repeats, which delivery is built to survive (at least
 * once, same `webhook-id`). Passes run at start and every `everyMs` until the old keys are gone.
 *
 * Only for one Redis: untagged BullMQ keys never worked on a Cluster (their scripts would cross slots).
 */
export function drainLegacyQueues(opts: { redis: RedisTarget; queues: Queues; log: Logger; everyMs?: number }): LegacyDrain | null {
  if (typeof opts.redis !== 'string') return null;
  const base = opts.queues.prefix;
  // The same bare prefix may already be a hash tag of its own (`{tp}`, the older Cluster advice): then the
  // old and new keys differ too, and the old ones still need moving.
  const connection = connectRedis(opts.redis, { maxRetriesPerRequest: 1, lazyConnect: true });
  connection.on('error', () => {});
  const targets: Record<string, Queue> = {
    [QUEUE.fanOut]: opts.queues.fanOut,
    [QUEUE.deliver]: opts.queues.deliver,
    [QUEUE.deliverBatch]: opts.queues.deliverBatch,
    [QUEUE.retract]: opts.queues.retract,
    [QUEUE.release]: opts.queues.release,
  };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const pass = async (): Promise<boolean> => {
    let left = 0;
    for (const name of LEGACY_QUEUES) {
      if (!(await connection.exists(`${base}:${name}:meta`, `${base}:${name}:id`))) continue;
      const old = new Queue(name, { connection, prefix: base });
      try {
        // A delayed job's due time is its score in the delayed set (ms * 0x1000 + a counter), which also
        // covers retries whose backoff moved them there.
        const dueOf = async (id: string) => {
          const score = await connection.zscore(`${base}:${name}:delayed`, id);
          return score === null ? Date.now() : Math.floor(Number(score) / 0x1000);
        };
        const moved = await moveJobs(await old.getJobs([...STATES]), targets[name]!, dueOf);
        const counts = await old.getJobCounts('active', ...STATES);
        const remaining = Object.values(counts).reduce((a, b) => a + b, 0);
        if (moved) opts.log.info({ queue: name, moved }, 'moved jobs from the untagged queue keys');
        if (remaining === 0) await old.obliterate({ force: false });
        else left += remaining;
      } finally {
        await old.close();
      }
    }
    if (await connection.exists(`${base}:${LEGACY_DIGESTS.queue}:meta`)) {
      const old = new Queue(LEGACY_DIGESTS.queue, { connection, prefix: base });
      try {
        await old.removeJobScheduler(LEGACY_DIGESTS.scheduler);
        await old.obliterate({ force: true });
      } finally {
        await old.close();
      }
    }
    return left > 0;
  };

  const run = () => {
    running = (async () => {
      try {
        if (connection.status === 'wait') await connection.connect();
        const again = await pass();
        if (again && !stopped) timer = setTimeout(run, opts.everyMs ?? 30_000);
      } catch (err) {
        opts.log.warn({ err }, 'could not drain the untagged queue keys; trying again');
        if (!stopped) timer = setTimeout(run, opts.everyMs ?? 30_000);
      }
    })();
  };
  run();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      connection.disconnect();
    },
  };
}

async function moveJobs(jobs: readonly (Job | undefined)[], target: Queue, dueOf: (id: string) => Promise<number>): Promise<number> {
  let moved = 0;
  for (const job of jobs) {
    if (!job?.id) continue;
    const due = await dueOf(job.id);
    await target.add(job.name, job.data, { ...job.opts, jobId: job.id, delay: Math.max(0, due - Date.now()) });
    await job.remove();
    moved++;
  }
  return moved;
}
