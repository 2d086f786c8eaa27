import type { JobsOptions } from 'bullmq';
import type { Route } from '../core/types.js';
import { jobIds, keepJobs, type Queues } from './queues.js';

export interface DeliveryToEnqueue {
  id: string;
  route: Route;
}

/** What fan-out, the workers and the commands put on the queues. */
export interface Enqueuer {
  /**
   * One deliver job per delivery, job id = delivery id: adding a delivery whose job still exists is a
   * no-op. `resend` gives the job a fresh id (a re-send of a finished delivery). Email deliveries get no
   * job: the digest collects them.
   */
  deliver(items: readonly DeliveryToEnqueue[], opts?: { resend?: boolean }): Promise<void>;
  retract(deliveryIds: readonly string[]): Promise<void>;
  /** One release job per person per end of quiet hours (deterministic id: repeats are no-ops). */
  release(personId: string, until: Date, delayMs: number): Promise<void>;
}

/** Attempts per route come from the channels (webhooks: retry delays + 1). */
export function createEnqueuer(queues: Pick<Queues, 'deliver' | 'retract' | 'release'>, maxAttempts: Record<Route, number>): Enqueuer {
  const chunk = 1000;
  return {
    async deliver(items, opts = {}) {
      const jobs = items
        .filter((d) => d.route !== 'email')
        .map((d) => ({
          name: d.route,
          data: { deliveryId: d.id, route: d.route },
          opts: {
            jobId: opts.resend ? jobIds.redeliver(d.id, Date.now()) : d.id,
            attempts: Math.max(1, maxAttempts[d.route]),
            backoff: { type: 'custom' },
            ...keepJobs,
          } satisfies JobsOptions,
        }));
      for (let i = 0; i < jobs.length; i += chunk) await queues.deliver.addBulk(jobs.slice(i, i + chunk));
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
