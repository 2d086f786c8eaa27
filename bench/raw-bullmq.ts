import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { machineBusyMs } from './memory.js';

/**
 * The raw BullMQ ceiling as a BullMQ user would quote it: on a fresh Redis database, `Queue.addBulk`
 * of N no-op jobs in chunks of 1,000 (a small data object, a deterministic `jobId`,
 * `removeOnComplete: true`, `attempts: 3`), all added BEFORE processing starts; then ONE `Worker` at
 * concurrency 50 with an async no-op processor runs them. jobs/s = N / processing time (from the
 * worker's start to the last completion). An unreported warm-up of WARMUP jobs runs the same way
 * first. Prints one JSON line: { n, done, ms, addMs, maxRss, machineMs } (machineMs: the whole machine's
 * busy CPU while the timed jobs ran, every process on every core).
 *
 * REDIS_URL must name a database of its own (e.g. redis://127.0.0.1:6379/9): it is flushed first.
 */
const n = Number(process.env.N);
const concurrency = Number(process.env.CONCURRENCY ?? 50);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/9';
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 600_000);
const warmup = Number(process.env.WARMUP ?? 1000);

const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
if (!/\/\d+$/.test(new URL(redisUrl).pathname)) throw new Error('REDIS_URL must name a database number of its own: it is flushed');
await connection.flushdb();
const queue = new Queue('raw', { connection });

/** Adds `count` jobs, then runs one worker until all are done; resolves with the processing time. */
async function run(count: number, tag: string): Promise<{ ms: number; addMs: number; done: number; machineMs: number }> {
  const addStart = performance.now();
  for (let i = 0; i < count; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({
      name: 'noop',
      data: { i: i + k },
      opts: { jobId: `${tag}-${i + k}`, removeOnComplete: true, attempts: 3 },
    }));
    await queue.addBulk(jobs);
  }
  const addMs = performance.now() - addStart;
  let done = 0;
  let resolveAll: () => void = () => {};
  const all = new Promise<void>((r) => (resolveAll = r));
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker('raw', async () => undefined, {
    connection: workerConnection,
    concurrency,
    autorun: false,
  });
  worker.on('completed', () => {
    if (++done >= count) resolveAll();
  });
  const started = performance.now();
  const busy0 = machineBusyMs();
  void worker.run();
  const timer = setTimeout(() => resolveAll(), timeoutMs);
  await all;
  const ms = performance.now() - started;
  const machineMs = machineBusyMs() - busy0;
  clearTimeout(timer);
  await worker.close();
  await workerConnection.quit();
  return { ms, addMs, done, machineMs };
}

if (warmup > 0) await run(warmup, 'warm');
const r = await run(n, 'timed');
process.stdout.write(`${JSON.stringify({ n, done: r.done, ms: r.ms, addMs: r.addMs, machineMs: r.machineMs, maxRss: process.resourceUsage().maxRSS * 1024 })}\n`);
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
process.exit(0);
