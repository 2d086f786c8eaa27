/**
 * Inputs: polls per second for 1,000 inputs (BENCH_INPUTS) against a local publisher answering 304,
 * through the real path: the SKIP LOCKED sweeper, one BullMQ job per (input, due time), the poller's
 * guarded GET (conditional, pinned to the checked address), the poll's transaction. A poll counts when
 * its input's `last_due_at` is written. Fresh database of the local PostgreSQL, the local Redis.
 *
 *   npx tsx bench/inputs.ts           (alone)      BENCH_INPUTS=1000   BENCH_INPUT_ROUNDS=3
 * Also run by bench/run.ts (BENCH_INPUTS=0 skips it there).
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNotNull, sql } from 'drizzle-orm';
import { pino } from 'pino';
import type { AppContext } from '../src/app/context.js';
import { parseConfig } from '../src/config.js';
import { systemClock } from '../src/core/clock.js';
import { newId } from '../src/core/ids.js';
import { inputs, sources } from '../src/db/schema.js';
import { createInputPoller } from '../src/integrations/inputs/poller.js';
import { createQueues } from '../src/pipeline/queues.js';
import { startInputScheduler } from '../src/pipeline/inputs.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix } from '../test/helpers/db.js';
import { dropPrefix } from '../test/helpers/queues.js';

export interface InputsBenchResult {
  inputs: number;
  polls: number;
  seconds: number;
  pollsPerSecond: number;
  /** Inputs the sweeper claims and enqueues per second (the slowest round). */
  sweepPerSecond: number;
  requests: number;
  notModified: number;
}

export async function benchInputs(say: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<InputsBenchResult> {
  const n = Number(process.env.BENCH_INPUTS ?? 1000) || 1000;
  const rounds = Math.max(1, Number(process.env.BENCH_INPUT_ROUNDS ?? 3) || 3);
  let requests = 0;
  let notModified = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.headers['if-none-match'] === '"v1"') {
      notModified++;
      return void res.writeHead(304, { etag: '"v1"' }).end();
    }
    res.writeHead(200, { etag: '"v1"', 'content-type': 'application/rss+xml' }).end('<rss version="2.0"><channel><title>x</title><link>https://x.example/</link></channel></rss>');
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const database = await createTestDatabase();
  const prefix = testQueuePrefix();
  const config = parseConfig({ DATABASE_URL: database.url, REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', ALLOW_PRIVATE_URLS: 'true' });
  const ctx: AppContext = { db: database.db, config, log: pino({ level: 'silent' }), clock: systemClock, kick: () => {} };
  const queues = createQueues(REDIS_URL, prefix);
  try {
    const serviceId = newId();
    await ctx.db.insert(sources).values({ id: serviceId, handle: 'bench-inputs', kind: 'service', name: 'Bench inputs' });
    // Baselined inputs with a stored ETag: every poll is a conditional GET answered 304.
    const rows = Array.from({ length: n }, (_, i) => ({
      id: newId(),
      serviceId,
      kind: 'feed' as const,
      url: `${base}/feed/${i}.rss`,
      everyS: 3600,
      baselined: true,
      etag: '"v1"',
      dueAt: new Date(Date.now() + 3600_000),
    }));
    for (let i = 0; i < rows.length; i += 500) await ctx.db.insert(inputs).values(rows.slice(i, i + 500));
    const scheduler = startInputScheduler({ ctx, queues, poll: createInputPoller({ ctx }), concurrency: 64, sweepMs: 60_000 });
    let total = 0;
    let seconds = 0;
    const sweeps: number[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        await ctx.db.execute(sql`update inputs set due_at = now(), last_due_at = null`);
        const t0 = performance.now();
        // The sweep, timed on its own: claiming and enqueueing every due input (it must not be the bottleneck).
        const enqueued = await scheduler.sweepOnce();
        const sweepMs = performance.now() - t0;
        sweeps.push(enqueued / (sweepMs / 1000));
        for (;;) {
          const [row] = await ctx.db.select({ c: sql<number>`count(*)::int` }).from(inputs).where(isNotNull(inputs.lastDueAt));
          if ((row?.c ?? 0) >= n) break;
          if (performance.now() - t0 > 120_000) throw new Error(`round ${r + 1}: only ${row?.c ?? 0} of ${n} polls within 120 s`);
          await new Promise((res) => setTimeout(res, 20));
        }
        const s = (performance.now() - t0) / 1000;
        say(`  inputs round ${r + 1}: ${n} polls (304) in ${s.toFixed(2)} s = ${Math.round(n / s)} polls/s; the sweep enqueued ${enqueued} in ${Math.round(sweepMs)} ms`);
        total += n;
        seconds += s;
      }
    } finally {
      await scheduler.close();
    }
    const sweepPerSecond = Math.min(...sweeps);
    const result = { inputs: n, polls: total, seconds, pollsPerSecond: total / seconds, sweepPerSecond, requests, notModified };
    say(`inputs: ${Math.round(result.pollsPerSecond)} polls/s over ${rounds} rounds of ${n} inputs (${notModified} of ${requests} answers were 304); the sweeper claims and enqueues ${Math.round(sweepPerSecond)} inputs/s`);
    return result;
  } finally {
    await queues.close();
    server.closeAllConnections();
    server.close();
    await database.drop();
    await dropPrefix(prefix);
  }
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  benchInputs().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`inputs benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
