import { Queue, Worker } from 'bullmq';
import { asc, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../app/context.js';
import { dueInputsWhere } from '../app/inputs.js';
import { inputs } from '../db/schema.js';
import { connectRedis } from '../redis.js';
import { keepJobs, workerLocks, type Queues } from './queues.js';

/**
 * Scheduling inputs so that it scales out (SPEC section 7): due times live in PostgreSQL. A sweeper (in
 * every worker process) claims due inputs with `FOR UPDATE SKIP LOCKED`, so two sweepers never claim
 * the same row, and enqueues one BullMQ job per (input, due time) with a deterministic id, so a repeat
 * adds nothing. Claiming moves the due time a lease ahead: a job lost with a crashed worker or a lost
 * Redis is swept again when the lease lapses, under a new due time. The poll's own transaction locks
 * the input and refuses a due time already polled, and records item identities with the statuses, so
 * nothing is posted twice. (Per-input BullMQ job schedulers were not the tool: thousands of
 * schedulers, and known duplicate runs.)
 */

export const INPUT_QUEUE = 'input-poll';

/** `in-<inputId>-<due ms>`: BullMQ job ids may not contain ':'. */
export const inputJobId = (inputId: string, due: Date) => `in-${inputId}-${due.getTime()}`;

export const inputJob = z.object({ inputId: z.string(), due: z.iso.datetime() });
export type InputJob = z.infer<typeof inputJob>;

export interface InputSchedulerOptions {
  ctx: Pick<AppContext, 'db' | 'clock' | 'log'>;
  queues: Pick<Queues, 'prefixFor' | 'redis' | 'workerConnection'>;
  /** Polls one input for one due time (the poller of integrations/inputs, wired in main.ts). */
  poll: (job: { inputId: string; due: Date }) => Promise<unknown>;
  /** Sweep interval (default 1 s). */
  sweepMs?: number;
  /** Rows claimed per sweep transaction (default 500). */
  batch?: number;
  /** How long a claim holds before the input is swept again (default 5 min: past a poll's 10 s deadline and its retries). */
  leaseMs?: number;
  /** Polls in flight per process (default 32). */
  concurrency?: number;
  /** Run the sweeper (default true); false: only poll what others enqueue. */
  sweep?: boolean;
}

export interface InputScheduler {
  /** One sweep now: the number of jobs enqueued. */
  sweepOnce(): Promise<number>;
  close(): Promise<void>;
}

export function startInputScheduler(opts: InputSchedulerOptions): InputScheduler {
  const { ctx } = opts;
  const log = ctx.log.child({ name: 'inputs-sweeper' });
  const prefix = opts.queues.prefixFor(INPUT_QUEUE);
  const producer = connectRedis(opts.queues.redis, { maxRetriesPerRequest: 3 });
  producer.on('error', (err: Error) => log.error({ err }, 'redis connection error (input queue)'));
  const queue = new Queue<InputJob>(INPUT_QUEUE, { connection: producer, prefix });
  queue.on('error', (err) => log.error({ err }, 'input queue error'));
  const batch = opts.batch ?? 500;
  const leaseMs = opts.leaseMs ?? 5 * 60 * 1000;

  const worker = new Worker<InputJob>(
    INPUT_QUEUE,
    async (job) => {
      const d = inputJob.parse(job.data);
      await opts.poll({ inputId: d.inputId, due: new Date(d.due) });
    },
    { prefix, connection: opts.queues.workerConnection(), concurrency: opts.concurrency ?? 32, ...workerLocks },
  );
  worker.on('error', (err) => log.error({ err }, 'input worker error'));
  worker.on('failed', (job, err) => log.warn({ err, jobId: job?.id }, 'input poll failed'));

  const sweepOnce = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const now = ctx.clock.now();
      const n = await ctx.db.transaction(async (tx) => {
        const due = await tx
          .select({ id: inputs.id, dueAt: inputs.dueAt })
          .from(inputs)
          .where(dueInputsWhere(now))
          .orderBy(asc(inputs.dueAt))
          .limit(batch)
          .for('update', { skipLocked: true });
        if (!due.length) return 0;
        // Enqueued before the claim commits: a failure rolls the claim back and the next sweep retries;
        // a commit lost after the enqueue re-enqueues the same job ids, which BullMQ ignores.
        await queue.addBulk(
          due.map((r) => ({
            name: 'poll',
            data: { inputId: r.id, due: r.dueAt.toISOString() },
            opts: { jobId: inputJobId(r.id, r.dueAt), attempts: 3, backoff: { type: 'exponential', delay: 5000 }, ...keepJobs },
          })),
        );
        await tx
          .update(inputs)
          .set({ dueAt: new Date(now.getTime() + leaseMs) })
          .where(
            inArray(
              inputs.id,
              due.map((r) => r.id),
            ),
          );
        return due.length;
      });
      total += n;
      if (n < batch) return total;
    }
  };

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    running = sweepOnce()
      .catch((err: unknown) => log.warn({ err }, 'input sweep failed; retrying at the next one'))
      .finally(() => {
        running = null;
        if (!stopped) timer = setTimeout(tick, opts.sweepMs ?? 1000);
      });
  };
  if (opts.sweep !== false) timer = setTimeout(tick, 0);

  let closing: Promise<void> | null = null;
  return {
    sweepOnce,
    close() {
      closing ??= (async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        await running;
        await worker.close();
        await queue.close();
        await producer.quit().catch(() => undefined);
      })();
      return closing;
    },
  };
}
