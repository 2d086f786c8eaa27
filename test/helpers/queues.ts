import type { Queues } from '../../src/pipeline/queues.js';

/** Deletes every queue of a test's prefix, and its marker key, from the shared Redis (afterAll). */
export async function removeQueues(queues: Queues): Promise<void> {
  for (const q of [queues.fanOut, queues.deliver, queues.deliverBatch, queues.retract, queues.release]) await q.obliterate({ force: true });
  await queues.dropMarker();
}
