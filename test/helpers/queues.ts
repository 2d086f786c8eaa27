import { Redis } from 'ioredis';
import type { Queues } from '../../src/pipeline/queues.js';
import { REDIS_URL } from './db.js';

/** Deletes every queue of a test's prefix, and its marker key, from the shared Redis (afterAll). */
export async function removeQueues(queues: Queues): Promise<void> {
  for (const q of [queues.fanOut, queues.deliver, queues.deliverBatch, queues.retract, queues.release]) await q.obliterate({ force: true });
  await queues.dropMarker();
}

/** Deletes every Redis key under `prefix` (a test file's or a benchmark's BullMQ prefix), when its processes have stopped. */
export async function dropPrefix(prefix: string, redisUrl = REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
