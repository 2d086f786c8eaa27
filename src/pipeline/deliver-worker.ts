import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { eq, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { AppContext } from '../app/context.js';
import type { Db } from '../db/client.js';
import { deliveries } from '../db/schema.js';
import type { ChannelRegistry, DeliveryOutcome, DeliveryRecord } from './channel.js';
import type { Enqueuer } from './enqueue.js';
import type { PipelineMetrics } from './metrics.js';
import { deliverJob, QUEUE, type DeliverJob } from './queues.js';

type DeliveryRow = typeof deliveries.$inferSelect;

/**
 * The lookup every deliver job starts with, built once per database handle: building it with the query
 * builder on every job was a seventh of the worker's CPU in the fan-out benchmark (docs/benchmarks.md).
 */
const prepareDeliveryById = (db: Db) => db.select().from(deliveries).where(eq(deliveries.id, sql.placeholder('id'))).limit(1).prepare('tp_delivery_by_id');
const deliveryByIdQueries = new WeakMap<Db, ReturnType<typeof prepareDeliveryById>>();
function deliveryById(db: Db, id: string): Promise<DeliveryRow[]> {
  let q = deliveryByIdQueries.get(db);
  if (!q) deliveryByIdQueries.set(db, (q = prepareDeliveryById(db)));
  return q.execute({ id });
}

export interface DeliverDeps {
  ctx: Pick<AppContext, 'db' | 'clock' | 'log'>;
  channels: ChannelRegistry;
  enqueue: Pick<Enqueuer, 'release'>;
  metrics?: PipelineMetrics | undefined;
}

/** A platform that keeps answering 429 still gets a bounded number of waits. */
const MAX_THROTTLES = 50;

export const toRecord = (d: DeliveryRow): DeliveryRecord => ({
  id: d.id,
  event: d.event,
  statusId: d.statusId,
  subscriberKind: d.subscriberKind,
  subscriberId: d.subscriberId,
  route: d.route,
  followId: d.followId,
  attempts: d.attempts,
  payload: d.payload,
  refs: d.refs,
  createdAt: d.createdAt,
});

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);

/**
 * Attempts one delivery and records the outcome on its row. At-least-once: a job may run again after
 * a crash, so a delivery already `sent`, `skipped` or `failed` is left alone.
 * Returns the state it left the delivery in.
 */
export async function processDelivery(deps: DeliverDeps, job: Job<DeliverJob>, token?: string): Promise<string> {
  const data = deliverJob.parse(job.data);
  const { db } = deps.ctx;
  const [d] = await deliveryById(db, data.deliveryId);
  if (!d) return 'gone';
  if (d.state === 'sent' || d.state === 'skipped' || d.state === 'failed') return d.state;
  const now = deps.ctx.clock.now();
  if (d.state === 'queued' && d.holdUntil && d.holdUntil > now) return 'held';
  const log = deps.ctx.log.child({ name: 'deliver', deliveryId: d.id, route: d.route, event: d.event });

  let outcome: DeliveryOutcome;
  try {
    outcome = await deps.channels[d.route].deliver(toRecord(d));
  } catch (err) {
    log.warn({ err }, 'channel threw; retrying');
    outcome = { kind: 'retry', error: errorText(err) };
  }

  const at = deps.ctx.clock.now();
  const attempts = d.attempts + 1;
  const set = (s: Partial<typeof deliveries.$inferInsert>) => db.update(deliveries).set({ updatedAt: at, ...s }).where(eq(deliveries.id, d.id));
  const count = (state: string) => deps.metrics?.deliveries.inc({ route: d.route, state });

  switch (outcome.kind) {
    case 'sent':
      await set({ state: 'sent', refs: outcome.refs ?? [], sentAt: at, attempts, lastError: null, reason: null, holdUntil: null });
      count('sent');
      return 'sent';
    case 'skip':
      await set({ state: 'skipped', reason: outcome.reason, attempts });
      count('skipped');
      return 'skipped';
    case 'fail':
      await set({ state: 'failed', lastError: outcome.reason, attempts });
      count('failed');
      log.warn({ reason: outcome.reason }, 'delivery failed for good');
      throw new UnrecoverableError(outcome.reason);
    case 'digest':
      // Into the person's email digest instead (quiet hours with quiet_to_digest); no attempt was made.
      await set({ route: 'email', state: 'queued', holdUntil: null });
      count('queued');
      return 'digest';
    case 'hold':
      await set({ state: 'queued', holdUntil: outcome.until });
      count('queued');
      await deps.enqueue.release(d.subscriberId, outcome.until, outcome.until.getTime() - at.getTime());
      return 'held';
    case 'retry': {
      const throttled = data.throttled ?? 0;
      if (outcome.retryAfterMs !== undefined && token && throttled < MAX_THROTTLES) {
        // A 429 delays only this job (a queue-wide rate limit would stall every workspace) and does
        // not use up an attempt: moveToDelayed skips the attempt count.
        await set({ state: 'retrying', lastError: outcome.error, attempts });
        count('retrying');
        await job.updateData({ ...data, throttled: throttled + 1 });
        await job.moveToDelayed(Date.now() + Math.max(0, outcome.retryAfterMs), token);
        throw new DelayedError();
      }
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (last) {
        await set({ state: 'failed', lastError: outcome.error, attempts });
        count('failed');
        log.warn({ error: outcome.error, attempts }, 'delivery failed after its last attempt');
        throw new UnrecoverableError(outcome.error);
      }
      await set({ state: 'retrying', lastError: outcome.error, attempts });
      count('retrying');
      // BullMQ retries with the channel's backoff (worker settings.backoffStrategy).
      throw new Error(outcome.error);
    }
  }
}

export interface DeliverWorkerOptions extends DeliverDeps {
  connection: Redis;
  prefix: string;
  concurrency: number;
}

export function createDeliverWorker(opts: DeliverWorkerOptions): Worker<DeliverJob> {
  const log = opts.ctx.log.child({ name: 'deliver-worker' });
  const worker = new Worker<DeliverJob>(QUEUE.deliver, (job, token) => processDelivery(opts, job, token), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: { data?: unknown }) => {
        const parsed = deliverJob.safeParse(job?.data);
        return parsed.success ? opts.channels[parsed.data.route].backoffMs(attemptsMade) : 60_000;
      },
    },
  });
  worker.on('error', (err) => log.error({ err }, 'deliver worker error'));
  return worker;
}
