import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { connectRedis, type RedisTarget } from '../redis.js';

/** A start-up that cannot go on: the message is the one line to print before exit 1. */
export class StartupError extends Error {}

/** How often the same cause is logged again while a dependency stays away. */
export const REPEAT_EVERY_MS = 10_000;

function hostPort(url: string, fallbackPort: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || fallbackPort}`;
  } catch {
    return url;
  }
}

function errorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; errors?: unknown[] };
  if (typeof err?.code === 'string') return err.code;
  // Node's AggregateError (a name with several addresses, e.g. localhost as ::1 and 127.0.0.1).
  if (Array.isArray(err?.errors)) for (const inner of err.errors) if (typeof (inner as { code?: unknown })?.code === 'string') return (inner as { code: string }).code;
  return undefined;
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** One line naming the variable and the cause, e.g. `DATABASE_URL: connection refused at 127.0.0.1:5433`. */
export function describeDatabaseError(e: unknown, databaseUrl: string): string {
  const where = hostPort(databaseUrl, '5432');
  const code = errorCode(e);
  switch (code) {
    case 'ECONNREFUSED':
      return `DATABASE_URL: connection refused at ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `DATABASE_URL: host ${where.replace(/:\d+$/, '')} not found (${code})`;
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return `DATABASE_URL: no answer from ${where} (${code})`;
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `DATABASE_URL: ${where} unreachable (${code})`;
    default:
      // PostgreSQL's own words: `database "tp" does not exist`, `password authentication failed for user "x"`.
      return `DATABASE_URL: ${messageOf(e)}`;
  }
}

function redisVariable(target: RedisTarget): string {
  return typeof target === 'string' ? 'REDIS_URL' : 'REDIS_CLUSTER';
}

function redisWhere(target: RedisTarget): string {
  if (typeof target !== 'string') return target.cluster.map((n) => `${n.host}:${n.port}`).join(',');
  if (target.startsWith('/')) return target;
  return hostPort(target, '6379');
}

/** e.g. `REDIS_URL: 127.0.0.1:6380 unreachable (ECONNREFUSED); start Redis or set REDIS_URL`. */
export function describeRedisError(e: unknown, target: RedisTarget): string {
  const name = redisVariable(target);
  const code = errorCode(e);
  if (code && /^E[A-Z]+$/.test(code)) return `${name}: ${redisWhere(target)} unreachable (${code}); start Redis or set ${name}`;
  return `${name}: ${redisWhere(target)}: ${messageOf(e)}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface WaitOptions {
  log: Logger;
  /** Give up (StartupError) after this long without an answer. */
  timeoutMs: number;
  /** A SIGTERM during the wait: stop waiting at once (the caller exits 0). */
  signal?: AbortSignal;
  /** Pause between attempts. */
  retryMs?: number;
}

/**
 * Calls `probe` until it succeeds. While it fails, logs the cause in one line, again only when the
 * cause changes or every 10 s (never a flood); after `timeoutMs` throws StartupError with the last cause.
 */
export async function waitFor(what: string, probe: () => Promise<void>, describe: (e: unknown) => string, opts: WaitOptions): Promise<void> {
  const started = Date.now();
  let lastLine = '';
  let lastAt = 0;
  for (;;) {
    if (opts.signal?.aborted) return;
    try {
      await probe();
      if (lastLine) opts.log.info(`${what} answers now`);
      return;
    } catch (e) {
      if (opts.signal?.aborted) return;
      const line = describe(e);
      const now = Date.now();
      if (now - started >= opts.timeoutMs) {
        throw new StartupError(`${line}; gave up after ${Math.round(opts.timeoutMs / 1000)} s (STARTUP_TIMEOUT)`);
      }
      if (line !== lastLine || now - lastAt >= REPEAT_EVERY_MS) {
        opts.log.warn(`${line}; retrying`);
        lastLine = line;
        lastAt = now;
      }
    }
    await sleep(Math.min(opts.retryMs ?? 1000, Math.max(0, opts.timeoutMs - (Date.now() - started))), opts.signal);
  }
}

/** One connection attempt to Redis and a PING, with no retries of ioredis's own. */
export async function pingRedisOnce(target: RedisTarget, timeoutMs = 2000): Promise<void> {
  const c = connectRedis(target, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeoutMs, commandTimeout: timeoutMs, retryStrategy: () => null });
  let lastError: unknown;
  c.on('error', (err: unknown) => (lastError = err));
  try {
    await c.connect();
    await c.ping();
  } catch (e) {
    // ioredis reports "Connection is closed" after the socket error that says why.
    throw lastError ?? e;
  } finally {
    c.disconnect();
  }
}

export interface DependencyOptions extends WaitOptions {
  database: Database;
  databaseUrl: string | undefined;
  redis: RedisTarget;
}

/** Waits for PostgreSQL (PGlite is in the process) and Redis at start-up, naming what is missing. */
export async function waitForDependencies(opts: DependencyOptions): Promise<void> {
  const { databaseUrl } = opts;
  if (databaseUrl) await waitFor('PostgreSQL', () => opts.database.ping(), (e) => describeDatabaseError(e, databaseUrl), opts);
  await waitFor('Redis', () => pingRedisOnce(opts.redis), (e) => describeRedisError(e, opts.redis), opts);
}
