import type { JobsOptions, Queue } from 'bullmq';
import { and, asc, inArray, isNull } from 'drizzle-orm';
import type { AppContext } from '../app/context.js';
import { outbox, statuses } from '../db/schema.js';
import type { PipelineMetrics } from './metrics.js';
import { fanOutJob, jobIds, keepJobs, STATUSES_PER_FAN_OUT, type FanOutJob } from './queues.js';

/** Fan-out is idempotent, so a failed run (database hiccup) simply runs again. */
const fanOutRetry: JobsOptions = { attempts: 8, backoff: { type: 'exponential', delay: 1000 } };

export interface RelayOptions {
  ctx: AppContext;
  fanOut: Queue<FanOutJob>;
  metrics?: PipelineMetrics | undefined;
  /** Safety net for kicks lost to a crash or another process: poll this often. */
  pollMs?: number;
  batchSize?: number;
  /** Coalesces bursts of kicks into one run. */
  debounceMs?: number;
}

export interface Relay {
  /** Run soon (debounced): something was just written to the outbox. */
  kick(): void;
  /** Relays everything pending now; resolves with the number of rows moved. */
  runOnce(): Promise<number>;
  close(): Promise<void>;
}

/**
 * New statuses in jobs of up to STATUSES_PER_FAN_OUT, in outbox order; a lone one keeps its own job
 * (`ob-<id>`, as every row had before statuses were put together).
 */
function createdJobs(created: readonly { outboxId: number; statusId: string }[]): { name: string; data: FanOutJob; opts: JobsOptions }[] {
  const jobs: { name: string; data: FanOutJob; opts: JobsOptions }[] = [];
  for (let i = 0; i < created.length; i += STATUSES_PER_FAN_OUT) {
    const part = created.slice(i, i + STATUSES_PER_FAN_OUT);
    if (part.length === 1) {
      const one = part[0]!;
      jobs.push({ name: 'status.created', data: { outboxId: one.outboxId, event: 'status.created', payload: { statusId: one.statusId } }, opts: { jobId: jobIds.fanOut(one.outboxId), ...keepJobs, ...fanOutRetry } });
      continue;
    }
    const outboxIds = part.map((c) => c.outboxId);
    jobs.push({
      name: 'statuses.created',
      data: { outboxIds, event: 'statuses.created', payload: { statusIds: part.map((c) => c.statusId) } },
      opts: { jobId: jobIds.fanOutGroup(outboxIds), ...keepJobs, ...fanOutRetry },
    });
  }
  return jobs;
}

/**
 * Moves outbox rows into the fan-out queue, oldest first: one job per row (job id `ob-<id>`), except that
 * the new statuses of a batch go together, up to STATUSES_PER_FAN_OUT to a job (`statuses.created`).
 * Rows are locked with `for update skip locked`, so any number of relays can run side by side.
 * Enqueue happens before the rows are marked inside the same transaction: a crash in between
 * re-adds the same job ids later, which fan-out's unique delivery keys make harmless.
 */
export function startRelay(opts: RelayOptions): Relay {
  const { ctx } = opts;
  const log = ctx.log.child({ name: 'outbox-relay' });
  const batchSize = opts.batchSize ?? 500;
  let running: Promise<number> | null = null;
  let again = false;
  let closed = false;
  let debounce: NodeJS.Timeout | null = null;

  async function relayBatch(): Promise<number> {
    return ctx.db.transaction(async (tx) => {
      const rows = await tx
        .select({ id: outbox.id, event: outbox.event, payload: outbox.payload })
        .from(outbox)
        .where(isNull(outbox.relayedAt))
        .orderBy(asc(outbox.id))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      if (!rows.length) return 0;
      const jobs: { name: string; data: FanOutJob; opts: JobsOptions }[] = [];
      const created: { outboxId: number; statusId: string }[] = [];
      for (const r of rows) {
        const parsed = fanOutJob.safeParse({ outboxId: r.id, event: r.event, payload: r.payload });
        if (!parsed.success) {
          log.error({ outboxId: r.id, event: r.event, issues: parsed.error.issues }, 'outbox row not understood; marked relayed without a job');
          continue;
        }
        if (parsed.data.event === 'status.created') created.push({ outboxId: r.id, statusId: parsed.data.payload.statusId });
        else jobs.push({ name: r.event, data: parsed.data, opts: { jobId: jobIds.fanOut(r.id), ...keepJobs, ...fanOutRetry } });
      }
      jobs.push(...createdJobs(created));
      if (jobs.length) await opts.fanOut.addBulk(jobs);
      const ids = rows.map((r) => r.id);
      await tx.update(outbox).set({ relayedAt: ctx.clock.now() }).where(and(inArray(outbox.id, ids), isNull(outbox.relayedAt)));
      if (opts.metrics && created.length) {
        const platforms = await tx.select({ platform: statuses.platform }).from(statuses).where(inArray(statuses.id, created.map((c) => c.statusId)));
        for (const p of platforms) opts.metrics.statusesAccepted.inc({ platform: p.platform });
      }
      return rows.length;
    });
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await relayBatch();
      total += n;
      if (n < batchSize || closed) return total;
    }
  }

  function run(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        do {
          again = false;
          total += await drain();
        } while (again && !closed);
      } catch (err) {
        log.error({ err }, 'outbox relay failed; the next poll retries');
      } finally {
        running = null;
      }
      return total;
    })();
    return running;
  }

  const poll = setInterval(() => void run(), opts.pollMs ?? 1000);
  poll.unref();

  return {
    kick() {
      if (closed || debounce) return;
      debounce = setTimeout(() => {
        debounce = null;
        void run();
      }, opts.debounceMs ?? 10);
      debounce.unref();
    },
    async runOnce() {
      // A run already under way may have read before the caller's rows committed: run again after it.
      if (running) await running;
      return run();
    },
    async close() {
      closed = true;
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      await running;
    },
  };
}
