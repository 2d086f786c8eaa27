import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { and, eq, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import pLimit from 'p-limit';
import type { Redis } from 'ioredis';
import type { AppContext } from '../app/context.js';
import { inJsonPlaceholder } from '../db/json-params.js';
import { preparedFor } from '../db/prepared.js';
import { deliveries } from '../db/schema.js';
import type { Channel, ChannelRegistry, DeliveryOutcome, DeliveryRecord, Limit } from './channel.js';
import { batchBackoffMs, type Enqueuer } from './enqueue.js';
import type { PipelineMetrics } from './metrics.js';
import { deliverBatchJob, deliverJob, QUEUE, type DeliverBatchJob, type DeliverJob } from './queues.js';

/** The columns an attempt reads (whole rows, for a batch of 100, showed in the profile). */
const attemptColumns = {
  id: deliveries.id,
  event: deliveries.event,
  statusId: deliveries.statusId,
  subscriberKind: deliveries.subscriberKind,
  subscriberId: deliveries.subscriberId,
  route: deliveries.route,
  followId: deliveries.followId,
  state: deliveries.state,
  attempts: deliveries.attempts,
  payload: deliveries.payload,
  refs: deliveries.refs,
  holdUntil: deliveries.holdUntil,
  createdAt: deliveries.createdAt,
};
type DeliveryRow = { [K in keyof typeof attemptColumns]: (typeof deliveries.$inferSelect)[K] };

/**
 * The lookups every deliver job starts with, prepared once per database handle: building them with the
 * query builder on every job was a seventh of the worker's CPU in the fan-out benchmark (docs/benchmarks.md).
 */
const deliveryById = preparedFor((db) => db.select(attemptColumns).from(deliveries).where(eq(deliveries.id, sql.placeholder('id'))).limit(1).prepare('tp_delivery_by_id'));
const deliveriesByIds = preparedFor((db) => db.select(attemptColumns).from(deliveries).where(inJsonPlaceholder(deliveries.id, 'ids')).prepare('tp_deliveries_by_ids'));
const markSent = preparedFor((db) =>
  db
    .update(deliveries)
    .set({
      state: 'sent',
      refs: [],
      sentAt: sql`${sql.placeholder('at')}::timestamptz`,
      updatedAt: sql`${sql.placeholder('at')}::timestamptz`,
      attempts: sql`${deliveries.attempts} + 1`,
      lastError: null,
      reason: null,
      holdUntil: null,
    })
    .where(inJsonPlaceholder(deliveries.id, 'ids'))
    .prepare('tp_deliveries_sent'),
);

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

type Set = PgUpdateSetSource<typeof deliveries>;

/**
 * Records every outcome but a retry on the delivery's row (and asks for a release job for a hold).
 * Returns the state it left the delivery in, or null for a retry, which the caller schedules.
 */
async function settle(deps: DeliverDeps, d: DeliveryRow, outcome: DeliveryOutcome, at: Date): Promise<string | null> {
  const { db } = deps.ctx;
  // Counted in SQL: a delivery handed from its batch to a job of its own may be attempted there before
  // the batch has written its own outcome.
  const attempts = sql`${deliveries.attempts} + 1`;
  const set = (s: Set) => db.update(deliveries).set({ updatedAt: at, ...s }).where(eq(deliveries.id, d.id));
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
      deps.ctx.log.warn({ deliveryId: d.id, route: d.route, reason: outcome.reason }, 'delivery failed for good');
      return 'failed';
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
    case 'retry':
      return null;
  }
}

/**
 * Marks a delivery `retrying` (its error kept) or, when it has no attempt left, `failed`. `fromBatch`:
 * only while the row still says `queued`; the job it was just handed to may already have moved it on.
 */
async function markRetry(deps: DeliverDeps, d: DeliveryRow, error: string, at: Date, last: boolean, fromBatch = false): Promise<string> {
  const state = last ? 'failed' : 'retrying';
  const where = fromBatch ? and(eq(deliveries.id, d.id), eq(deliveries.state, 'queued')) : eq(deliveries.id, d.id);
  await deps.ctx.db.update(deliveries).set({ updatedAt: at, state, lastError: error, attempts: sql`${deliveries.attempts} + 1` }).where(where);
  deps.metrics?.deliveries.inc({ route: d.route, state });
  if (last) deps.ctx.log.warn({ deliveryId: d.id, route: d.route, error, attempts: d.attempts + 1 }, 'delivery failed after its last attempt');
  return state;
}

async function attempt(channel: Channel, r: DeliveryRecord, log: DeliverDeps['ctx']['log']): Promise<DeliveryOutcome> {
  try {
    return await channel.deliver(r);
  } catch (err) {
    log.warn({ err, deliveryId: r.id, route: r.route }, 'channel threw; retrying');
    return { kind: 'retry', error: errorText(err) };
  }
}

/** A delivery still to attempt: queued (not `retrying`, which has a job of its own) and not held for later. */
const due = (d: DeliveryRow, now: Date) => d.state === 'queued' && !(d.holdUntil && d.holdUntil > now);

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

export interface BatchDeps extends DeliverDeps {
  enqueue: Pick<Enqueuer, 'release' | 'retry'>;
  /** The process's cap on sends in flight, shared by every batch it runs. */
  limit: Limit;
}

export interface BatchResult {
  attempted: number;
  /** Outcome -> count; `retrying` ones left the batch for jobs of their own. */
  states: Record<string, number>;
}

/**
 * Attempts the due deliveries of one batch: one read for all of them, the channel's shared lookups
 * (deliverMany), sends in parallel under the process's cap, one write for all that were plainly sent.
 * A delivery to retry leaves the batch: its own deliver job is added (delayed by Retry-After or the
 * route's first backoff) before its row says `retrying`, so a crash between the two repeats it rather
 * than losing it. A crash anywhere re-runs the batch, which skips what its rows say is done.
 */
export async function processDeliveryBatch(deps: BatchDeps, job: Job<DeliverBatchJob>): Promise<BatchResult> {
  const data = deliverBatchJob.parse(job.data);
  const { db, clock } = deps.ctx;
  const rows = await deliveriesByIds(db).execute({ ids: JSON.stringify(data.deliveryIds) });
  const now = clock.now();
  const todo = rows.filter((d) => due(d, now));
  const result: BatchResult = { attempted: todo.length, states: {} };
  if (!todo.length) return result;
  const channel = deps.channels[data.route];
  const records = todo.map(toRecord);
  const outcomes = channel.deliverMany
    ? await channel.deliverMany(records, deps.limit)
    : await Promise.all(records.map((r) => deps.limit(() => attempt(channel, r, deps.ctx.log))));

  const at = clock.now();
  const plainlySent: string[] = [];
  const tally = (state: string) => (result.states[state] = (result.states[state] ?? 0) + 1);
  for (const [i, d] of todo.entries()) {
    const outcome = outcomes[i] ?? { kind: 'retry', error: 'no outcome' };
    if (outcome.kind === 'sent' && !outcome.refs?.length) {
      plainlySent.push(d.id);
      continue;
    }
    const state = await settle(deps, d, outcome, at);
    if (state !== null || outcome.kind !== 'retry') {
      tally(state ?? 'retrying');
      continue;
    }
    if (channel.maxAttempts <= 1) {
      tally(await markRetry(deps, d, outcome.error, at, true));
      continue;
    }
    const throttled = outcome.retryAfterMs !== undefined;
    await deps.enqueue.retry(
      { deliveryId: d.id, route: d.route, attemptsBefore: throttled ? 0 : 1, ...(throttled ? { throttled: 1 } : {}) },
      throttled ? outcome.retryAfterMs! : channel.backoffMs(1),
    );
    tally(await markRetry(deps, d, outcome.error, at, false, true));
  }
  if (plainlySent.length) {
    await markSent(db).execute({ ids: JSON.stringify(plainlySent), at: at.toISOString() });
    deps.metrics?.deliveries.inc({ route: data.route, state: 'sent' }, plainlySent.length);
    result.states.sent = (result.states.sent ?? 0) + plainlySent.length;
  }
  return result;
}

export interface DeliverWorkerOptions extends DeliverDeps {
  connection: Redis;
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

/** Batches run this many at a time, so one batch's reads and writes overlap another's sends. */
export const BATCHES_AT_ONCE = 4;

/** Batch jobs: BATCHES_AT_ONCE at a time, with at most `concurrency` sends in flight across them. */
export function createDeliverBatchWorker(opts: DeliverWorkerOptions & { enqueue: BatchDeps['enqueue'] }): Worker<DeliverBatchJob> {
  const log = opts.ctx.log.child({ name: 'deliver-batch-worker' });
  const deps: BatchDeps = { ...opts, limit: pLimit(Math.max(1, opts.concurrency)) };
  const worker = new Worker<DeliverBatchJob>(QUEUE.deliverBatch, (job) => processDeliveryBatch(deps, job), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: BATCHES_AT_ONCE,
    // A batch whose worker died is handed out again; BullMQ's default fails it after one such stall,
    // which would leave its deliveries queued with no job. Five stalls mean a batch that kills workers.
    maxStalledCount: 5,
    settings: { backoffStrategy: batchBackoffMs },
  });
  worker.on('error', (err) => log.error({ err }, 'deliver batch worker error'));
  return worker;
}
