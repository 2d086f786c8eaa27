import { Worker, type Job } from 'bullmq';
import { and, eq, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import pLimit from 'p-limit';
import { inJsonList } from '../db/json-params.js';
import { preparedFor } from '../db/prepared.js';
import { deliveries } from '../db/schema.js';
import type { Limit } from './channel.js';
import { attempt, attemptColumns, due, markRetry, oneMoreAttempt, settle, toRecord, type DeliverDeps } from './deliver-record.js';
import type { DeliverWorkerOptions } from './deliver-worker.js';
import { batchBackoffMs, type Enqueuer } from './enqueue.js';
import { chaseLateDeletions } from './late-deletions.js';
import { deliverBatchJob, QUEUE, workerLocks, type DeliverBatchJob } from './queues.js';

/**
 * The batch's read and its one write for plain successes, prepared once per database handle. The write
 * takes the rows still queued and names them; one it does not name changed while it was being sent
 * (a deletion marked it skipped) and is recorded by `markSentAnyway`.
 */
const deliveriesByIds = preparedFor((db) => db.select(attemptColumns).from(deliveries).where(inJsonList(deliveries.id, sql.placeholder('ids'))).prepare('tp_deliveries_by_ids'));
const sentColumns: PgUpdateSetSource<typeof deliveries> = {
  state: 'sent',
  refs: [],
  sentAt: sql`${sql.placeholder('at')}::timestamptz`,
  updatedAt: sql`${sql.placeholder('at')}::timestamptz`,
  attempts: oneMoreAttempt,
  lastError: null,
  reason: null,
  holdUntil: null,
};
const markSent = preparedFor((db) =>
  db
    .update(deliveries)
    .set(sentColumns)
    .where(and(inJsonList(deliveries.id, sql.placeholder('ids')), eq(deliveries.state, 'queued')))
    .returning({ id: deliveries.id })
    .prepare('tp_deliveries_sent'),
);
const markSentAnyway = preparedFor((db) =>
  db.update(deliveries).set(sentColumns).where(inJsonList(deliveries.id, sql.placeholder('ids'))).prepare('tp_deliveries_sent_anyway'),
);

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
    const marked = await markSent(db).execute({ ids: JSON.stringify(plainlySent), at: at.toISOString() });
    if (marked.length < plainlySent.length) {
      const named = new Set(marked.map((m) => m.id));
      const late = new Set(plainlySent.filter((id) => !named.has(id)));
      await markSentAnyway(db).execute({ ids: JSON.stringify([...late]), at: at.toISOString() });
      await chaseLateDeletions(deps.ctx, todo.filter((d) => late.has(d.id)));
    }
    deps.metrics?.deliveries.inc({ route: data.route, state: 'sent' }, plainlySent.length);
    result.states.sent = (result.states.sent ?? 0) + plainlySent.length;
  }
  return result;
}

/**
 * Batches run this many at a time, so one batch's reads and writes overlap another's sends. Eight, not
 * four: in paired bench runs the fan-out's ratio to raw BullMQ was higher in five of six pairs (at 10,000
 * and 100,000 followers); sixteen was no better than eight (docs/benchmarks.md). A worker killed in the
 * middle re-sends at most what its batches had in flight (at-least-once, one webhook-id each).
 */
export const BATCHES_AT_ONCE = 8;

/** Batch jobs: BATCHES_AT_ONCE at a time, with at most `concurrency` sends in flight across them. */
export function createDeliverBatchWorker(opts: DeliverWorkerOptions & { enqueue: BatchDeps['enqueue'] }): Worker<DeliverBatchJob> {
  const log = opts.ctx.log.child({ name: 'deliver-batch-worker' });
  const deps: BatchDeps = { ...opts, limit: pLimit(Math.max(1, opts.concurrency)) };
  const worker = new Worker<DeliverBatchJob>(QUEUE.deliverBatch, (job) => processDeliveryBatch(deps, job), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: BATCHES_AT_ONCE,
    ...workerLocks,
    // A batch whose worker died is handed out again; BullMQ's default fails it after one such stall,
    // which would leave its deliveries queued with no job. Five stalls mean a batch that kills workers.
    maxStalledCount: 5,
    settings: { backoffStrategy: batchBackoffMs },
  });
  worker.on('error', (err) => log.error({ err }, 'deliver batch worker error'));
  return worker;
}
