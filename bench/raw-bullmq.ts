import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * The raw BullMQ ceiling on this machine: N no-op jobs added in bulk (1,000 per addBulk, with the
 * pipeline's job options) and processed by one worker at the same concurrency, in one process, as the
 * pipeline's worker does; WARMUP jobs first, untimed. Prints one JSON line.
 */
const n = Number(process.env.N);
const concurrency = Number(process.env.CONCURRENCY ?? 32);
const prefix = process.env.PREFIX!;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 600_000);
const warmup = Number(process.env.WARMUP ?? 0);

const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue('raw', { connection, prefix });
let done = 0;
let target = 0;
let resolveAll: () => void = () => {};
const worker = new Worker('raw', async () => undefined, {
  connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
  prefix,
  concurrency,
  settings: { backoffStrategy: () => 5000 },
});
worker.on('completed', () => {
  if (++done >= target) resolveAll();
});
await worker.waitUntilReady();

/** Adds `count` no-op jobs in bulk and resolves when all have completed (or after TIMEOUT_MS). */
async function run(count: number): Promise<void> {
  done = 0;
  target = count;
  const all = new Promise<void>((r) => (resolveAll = r));
  for (let i = 0; i < count; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, count - i) }, () => {
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
}

// The same warm-up the pipeline's worker gets: its code is compiled before the timed run.
if (warmup > 0) await run(warmup);
const started = performance.now();
await run(n);
const elapsed = performance.now() - started;
process.stdout.write(`${JSON.stringify({ n, done, ms: elapsed, maxRss: process.resourceUsage().maxRSS * 1024 })}\n`);
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
process.exit(0);
