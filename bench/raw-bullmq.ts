import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * The raw BullMQ ceiling on this machine: N no-op jobs added in bulk (1,000 per addBulk, as the
 * pipeline's enqueuer does, with the same job options) and processed by one worker at the same
 * concurrency, in one process, as the pipeline's worker does. Prints one JSON line.
 */
const n = Number(process.env.N);
const concurrency = Number(process.env.CONCURRENCY ?? 32);
const prefix = process.env.PREFIX!;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 600_000);

const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue('raw', { connection, prefix });
let done = 0;
let resolveAll: () => void = () => {};
const all = new Promise<void>((r) => (resolveAll = r));
const worker = new Worker('raw', async () => undefined, {
  connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
  prefix,
  concurrency,
  settings: { backoffStrategy: () => 5000 },
});
worker.on('completed', () => {
  if (++done >= n) resolveAll();
});
await worker.waitUntilReady();

const started = performance.now();
for (let i = 0; i < n; i += 1000) {
  const jobs = Array.from({ length: Math.min(1000, n - i) }, () => {
    const id = randomUUID();
    return {
      name: 'webhook',
      data: { deliveryId: id, route: 'webhook' },
      opts: { jobId: id, attempts: 8, backoff: { type: 'custom' }, removeOnComplete: true, removeOnFail: { count: 1000 } },
    };
  });
  await queue.addBulk(jobs);
}
const timer = setTimeout(() => resolveAll(), timeoutMs);
await all;
clearTimeout(timer);
const elapsed = performance.now() - started;
process.stdout.write(`${JSON.stringify({ n, done, ms: elapsed, maxRss: process.resourceUsage().maxRSS * 1024 })}\n`);
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
process.exit(0);
