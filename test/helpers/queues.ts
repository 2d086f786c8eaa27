import { Redis } from 'ioredis';
import { REDIS_URL } from './db.js';

/** Deletes every Redis key under `prefix` (a test file's or a benchmark's BullMQ prefix), when its processes have stopped. */
export async function dropPrefix(prefix: string, redisUrl = REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    // Each queue's keys sit under a hash tag of its own (`{prefix:deliver}:...`, src/pipeline/queues.ts).
    for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
