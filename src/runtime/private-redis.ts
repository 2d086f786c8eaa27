import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import type { Logger } from '../log.js';
import { StartupError } from './dependencies.js';
import { lockFolder, type FolderLock } from './folder-lock.js';

/**
 * `npm start` on a machine without Redis: a redis-server of its own, from PATH, keeping its data and
 * append-only file under `./data/redis` and listening only on the Unix socket `./data/redis/redis.sock`
 * (no TCP port). The folder is locked like PGlite's; the server stops when the app does.
 */

export const NO_REDIS_SERVER =
  'Twitterprise needs Redis: nothing answers on 127.0.0.1:6379 and there is no redis-server on PATH to start one; install it (apt-get install redis-server, or brew install redis) or set REDIS_URL to your Redis.';

/** Does anything answer a PING on host:port within `timeoutMs`? (An error reply such as NOAUTH counts.) */
export function answersPing(target: { host: string; port: number } | { path: string }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = 'path' in target ? connect(target.path) : connect(target.port, target.host);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(/^[+-]/.test(d.toString('latin1'))));
  });
}

/** The first executable `name` on PATH, or null. */
export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | null {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface PrivateRedis {
  /** What ioredis connects to: the socket's path. */
  readonly target: string;
  /** For the ready line, e.g. `private redis-server on ./data/redis/redis.sock`. */
  readonly description: string;
  readonly pid: number;
  /** SIGTERM (Redis writes its append-only file and exits), SIGKILL if it takes longer than `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Synchronous, for a process that exits now: the server still gets its SIGTERM. */
  stopNow(): void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Asks a server left behind by a process that was killed (its lock was stale) to shut down. */
async function shutDownLeftover(socketPath: string, log: Logger): Promise<void> {
  if (!(await answersPing({ path: socketPath }, 500))) return;
  log.warn({ socket: socketPath }, 'a private redis-server left by an earlier run still answers; shutting it down');
  await new Promise<void>((resolve) => {
    const s = connect(socketPath);
    s.once('error', () => resolve());
    s.once('close', () => resolve());
    s.once('connect', () => s.write('SHUTDOWN\r\n'));
  });
  for (let i = 0; i < 100 && (await answersPing({ path: socketPath }, 200)); i++) await sleep(100);
}

export interface PrivateRedisOptions {
  /** The data folder, `./data/redis`. */
  dir: string;
  log: Logger;
  /** redis-server's path (default: found on PATH). */
  binary?: string;
  readyTimeoutMs?: number;
}

export async function startPrivateRedis(opts: PrivateRedisOptions): Promise<PrivateRedis> {
  const binary = opts.binary ?? findOnPath('redis-server');
  if (!binary) throw new StartupError(NO_REDIS_SERVER);
  const dir = path.resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const lock: FolderLock = lockFolder(opts.dir, 'twitterprise private redis-server');
  const socketFile = path.join(dir, 'redis.sock');
  // A Unix socket path has room for about 100 bytes; a deep folder is reached by its relative path.
  const target = socketFile.length <= 100 ? socketFile : path.relative(process.cwd(), socketFile);
  let child: ChildProcess | undefined;
  try {
    await shutDownLeftover(target, opts.log);
    // Run inside the folder, so the socket, the append-only file and the log are all relative to it.
    child = spawn(
      binary,
      [
        '--port', '0',
        '--unixsocket', 'redis.sock',
        '--unixsocketperm', '700',
        '--dir', '.',
        '--appendonly', 'yes',
        '--appendfsync', 'everysec',
        '--save', '',
        '--maxmemory-policy', 'noeviction',
        '--daemonize', 'no',
        '--logfile', 'redis.log',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const proc = child;
    let exited = false;
    const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
    proc.once('error', () => {});
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    while (!(await answersPing({ path: target }, 500))) {
      if (exited || Date.now() > deadline) {
        const logFile = path.join(dir, 'redis.log');
        const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
        proc.kill('SIGKILL');
        throw new StartupError(`the private redis-server (${binary}) did not start in ${path.relative(process.cwd(), dir) || dir}${tail ? `: ${tail}` : ''}`);
      }
      await sleep(50);
    }
    let stopping: Promise<void> | null = null;
    const shown = `./${path.relative(process.cwd(), socketFile)}`;
    const stopNow = () => {
      if (!exited) proc.kill('SIGTERM');
      lock.release();
    };
    process.once('exit', stopNow);
    opts.log.info({ pid: proc.pid, socket: shown }, 'started a private redis-server (REDIS_URL is unset and nothing answers on 127.0.0.1:6379)');
    return {
      target,
      description: `private redis-server on ${shown}`,
      pid: proc.pid!,
      stopNow,
      stop(graceMs = 10_000) {
        stopping ??= (async () => {
          if (!exited) {
            proc.kill('SIGTERM');
            const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
            await exit;
            clearTimeout(timer);
          }
          process.off('exit', stopNow);
          lock.release();
        })();
        return stopping;
      },
    };
  } catch (e) {
    child?.kill('SIGKILL');
    lock.release();
    throw e;
  }
}
