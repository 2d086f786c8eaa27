import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import type { RedisConnection } from '../redis.js';
import { preparedFor } from '../db/prepared.js';
import { deliveries } from '../db/schema.js';
import { attempt, attemptColumns, due, markRetry, settle, toRecord, type DeliverDeps } from './deliver-record.js';
import { deliverJob, QUEUE, workerLocks, type DeliverJob } from './queues.js';

/**
 * The lookup every deliver job starts with, prepared once per database handle: building it with the
 * query builder on every job was a seventh of the worker's CPU in the fan-out benchmark (docs/benchmarks.md).
 */
const deliveryById = preparedFor((db) => db.select(attemptColumns).from(deliveries).where(eq(deliveries.id, sql.placeholder('id'))).limit(1).prepare('tp_delivery_by_id'));

/** A platform that keeps answering 429 still gets a bounded number of waits. */
const MAX_THROTTLES = 50;

/**
 * Attempts one delivery and records the outcome on its row. At-least-once: a job may run again after
 * a crash, so a delivery already `sent`, `skipped` or `failed` is left alone.
 * Returns the state it left the delivery in.
 */
export async function processDelivery(deps: DeliverDeps, job: Job<DeliverJob>, token?: string): Promise<string> {
  const data = deliverJob.parse(job.data);
  const [d] = await deliveryById(deps.ctx.db).execute({ id: data.deliveryId });
  if (!d) return 'gone';
  if (d.state === 'sent' || d.state === 'skipped' || d.state === 'failed') return d.state;
  if (d.state === 'queued' && !due(d, deps.ctx.clock.now())) return 'held';

  const outcome = await attempt(deps.channels[d.route], toRecord(d), deps.ctx.log);
  const at = deps.ctx.clock.now();
  const state = await settle(deps, d, outcome, at);
  if (state === 'failed') throw new UnrecoverableError(outcome.kind === 'fail' ? outcome.reason : state);
  if (state !== null || outcome.kind !== 'retry') return state ?? 'retrying';

  const throttled = data.throttled ?? 0;
  if (outcome.retryAfterMs !== undefined && token && throttled < MAX_THROTTLES) {
    // A 429 delays only this job (a queue-wide rate limit would stall every workspace) and does
    // not use up an attempt: moveToDelayed skips the attempt count.
    await markRetry(deps, d, outcome.error, at, false);
    await job.updateData({ ...data, throttled: throttled + 1 });
    await job.moveToDelayed(Date.now() + Math.max(0, outcome.retryAfterMs), token);
    throw new DelayedError();
  }
  const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  await markRetry(deps, d, outcome.error, at, last);
  if (last) throw new UnrecoverableError(outcome.error);
  // BullMQ retries with the channel's backoff (worker settings.backoffStrategy).
  throw new Error(outcome.error);
}

export interface DeliverWorkerOptions extends DeliverDeps {
  connection: RedisConnection;
  prefix: string;
  concurrency: number;
}

/** Deliver jobs (one delivery each: lone ones, retries, re-sends), `concurrency` at a time. */
export function createDeliverWorker(opts: DeliverWorkerOptions): Worker<DeliverJob> {
  const log = opts.ctx.log.child({ name: 'deliver-worker' });
  const worker = new Worker<DeliverJob>(QUEUE.deliver, (job, token) => processDelivery(opts, job, token), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency,
    ...workerLocks,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: { data?: unknown }) => {
        const parsed = deliverJob.safeParse(job?.data);
        return parsed.success ? opts.channels[parsed.data.route].backoffMs(attemptsMade + (parsed.data.attemptsBefore ?? 0)) : 60_000;
      },
    },
  });
  worker.on('error', (err) => log.error({ err }, 'deliver worker error'));
  return worker;
}
