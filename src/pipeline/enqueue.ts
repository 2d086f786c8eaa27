import type { JobsOptions } from 'bullmq';
import type { Route } from '../core/types.js';
import { jobIds, keepJobs, type DeliverJob, type Queues } from './queues.js';

export interface DeliveryToEnqueue {
  id: string;
  route: Route;
  /**
   * false: the delivery is done or waiting. It gets no attempt, but is counted in its batch's job id,
   * so that a re-run fan-out composes the same batches (and job ids) as the first run. Default true.
   */
  pending?: boolean;
}

/** Deliveries per batch job: one fan-out page of 1,000 makes ten jobs instead of a thousand. */
export const BATCH_SIZE = 100;

/** Retries of a batch whose job itself failed (database or Redis away): 1 s doubling to 5 min, for about 2 hours. */
export const BATCH_ATTEMPTS = 30;
export const batchBackoffMs = (attemptsMade: number) => Math.min(300_000, 1000 * 2 ** Math.max(0, attemptsMade - 1));

/** What fan-out, the workers and the commands put on the queues. */
export interface Enqueuer {
  /**
   * Deliveries to attempt. Several of one route go in batch jobs of BATCH_SIZE, sorted by id, so the
   * same deliveries always make the same job ids: adding a batch whose job still exists is a no-op. A
   * batch job carries the ids still pending; a lone delivery gets a job with job id = delivery id. `resend` gives each its own job with a fresh
   * id (a re-send of a finished delivery). Email deliveries get no job: the digest collects them.
   */
  deliver(items: readonly DeliveryToEnqueue[], opts?: { resend?: boolean }): Promise<void>;
  /** One delivery that left its batch to be retried on its own, after `delayMs`. */
  retry(job: DeliverJob, delayMs: number): Promise<void>;
  retract(deliveryIds: readonly string[]): Promise<void>;
  /** One release job per person per end of quiet hours (deterministic id: repeats are no-ops). */
  release(personId: string, until: Date, delayMs: number): Promise<void>;
}

/** Attempts per route come from the channels (webhooks: retry delays + 1). */
export function createEnqueuer(queues: Pick<Queues, 'deliver' | 'deliverBatch' | 'retract' | 'release'>, maxAttempts: Record<Route, number>): Enqueuer {
  const chunk = 1000;
  const single = (data: DeliverJob, jobId: string, extra: JobsOptions = {}) => ({
    name: data.route,
    data,
    opts: {
      jobId,
      attempts: Math.max(1, maxAttempts[data.route] - (data.attemptsBefore ?? 0)),
      backoff: { type: 'custom' },
      ...keepJobs,
      ...extra,
    } satisfies JobsOptions,
  });
  return {
    async deliver(items, opts = {}) {
      const sendable = items.filter((d) => d.route !== 'email');
      if (opts.resend) {
        const jobs = sendable.map((d) => single({ deliveryId: d.id, route: d.route }, jobIds.redeliver(d.id, Date.now())));
        for (let i = 0; i < jobs.length; i += chunk) await queues.deliver.addBulk(jobs.slice(i, i + chunk));
        return;
      }
      const byRoute = new Map<Route, DeliveryToEnqueue[]>();
      for (const d of sendable) {
        const list = byRoute.get(d.route);
        if (list) list.push(d);
        else byRoute.set(d.route, [d]);
      }
      const singles: ReturnType<typeof single>[] = [];
      const batches: { name: Route; data: { route: Route; deliveryIds: string[] }; opts: JobsOptions }[] = [];
      for (const [route, list] of byRoute) {
        list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        for (let i = 0; i < list.length; i += BATCH_SIZE) {
          const part = list.slice(i, i + BATCH_SIZE);
          if (!part.some((d) => d.pending !== false)) continue;
          if (part.length === 1) {
            singles.push(single({ deliveryId: part[0]!.id, route }, part[0]!.id));
            continue;
          }
          batches.push({
            name: route,
            data: { route, deliveryIds: part.filter((d) => d.pending !== false).map((d) => d.id) },
            opts: { jobId: jobIds.batch(part.map((d) => d.id)), attempts: BATCH_ATTEMPTS, backoff: { type: 'custom' }, ...keepJobs },
          });
        }
      }
      for (let i = 0; i < batches.length; i += chunk) await queues.deliverBatch.addBulk(batches.slice(i, i + chunk));
      for (let i = 0; i < singles.length; i += chunk) await queues.deliver.addBulk(singles.slice(i, i + chunk));
    },
    async retry(data, delayMs) {
      const job = single(data, data.deliveryId, { delay: Math.max(0, delayMs) });
      await queues.deliver.add(job.name, job.data, job.opts);
    },
    async retract(deliveryIds) {
      const jobs = deliveryIds.map((id) => ({
        name: 'retract',
        data: { deliveryId: id },
        opts: { jobId: jobIds.retract(id), attempts: 6, backoff: { type: 'exponential', delay: 2000 }, ...keepJobs } satisfies JobsOptions,
      }));
      for (let i = 0; i < jobs.length; i += chunk) await queues.retract.addBulk(jobs.slice(i, i + chunk));
    },
    async release(personId, until, delayMs) {
      await queues.release.add(
        'release',
        { personId, until: until.toISOString() },
        { jobId: jobIds.release(personId, until), delay: Math.max(0, delayMs), attempts: 6, backoff: { type: 'exponential', delay: 5000 }, ...keepJobs },
      );
    },
  };
}
