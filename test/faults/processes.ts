import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { queueKeyPrefix } from '../../src/pipeline/queues.js';
import { waitUntil } from '../helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Role = 'web' | 'worker' | 'all';

/** One `src/main.ts <role>` process: `node --import tsx`, so its pid is the app itself (SIGKILL hits it, not a wrapper). */
export interface AppProcess {
  role: Role;
  proc: ChildProcess;
  pid: number;
  /** Pino lines from stdout and stderr, parsed when they are JSON. */
  lines: string[];
  /** Base URL (web and all), from the "listening" log line. */
  url: string | null;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit, or throws after `timeoutMs` (and SIGKILLs it, so nothing is left behind). */
  waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of a child: only what we set, never the caller's Slack or Teams variables. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'info',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    // The fault tests post (and retry posts) as fast as they like; the budget per token has tests of its own.
    STATUS_RATE_LIMIT: '0',
    ...env,
  };
}

export async function startApp(role: Role, env: Record<string, string>, opts: { readyTimeoutMs?: number; nodeArgs?: string[] } = {}): Promise<AppProcess> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts', role], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  let listening: ((url: string) => void) | null = null;
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line) continue;
      if (lines.length < 20_000) lines.push(line);
      if (listening && line.includes('"listening"')) {
        try {
          const port = (JSON.parse(line) as { port?: number }).port;
          if (port) listening(`http://127.0.0.1:${port}`);
        } catch {
          // not a JSON log line
        }
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const app: AppProcess = {
    role,
    proc,
    pid: proc.pid!,
    lines,
    url: null,
    exited,
    kill: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
    async waitExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${role} did not exit within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } catch (e) {
        app.kill('SIGKILL');
        await exited;
        throw e;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const fixedPort = env.PORT && env.PORT !== '0' ? env.PORT : null;
  if (role !== 'worker' && fixedPort) {
    // A fixed port: ready when /healthz answers (works at any LOG_LEVEL).
    const url = `http://127.0.0.1:${fixedPort}`;
    let gone = false;
    void exited.then(() => (gone = true));
    await until(async () => !gone && (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).ok, opts.readyTimeoutMs ?? 30_000, `${role} on port ${fixedPort}`).catch(async (e: unknown) => {
      app.kill('SIGKILL');
      await exited;
      throw new Error(`${String(e)}\n${lines.slice(-20).join('\n')}`);
    });
    app.url = url;
  } else if (role !== 'worker') {
    app.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${role} did not start within ${opts.readyTimeoutMs ?? 30_000} ms:\n${lines.slice(-20).join('\n')}`)), opts.readyTimeoutMs ?? 30_000);
      listening = (url) => {
        clearTimeout(timer);
        resolve(url);
      };
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`${role} exited with ${code} before listening:\n${lines.slice(-20).join('\n')}`));
      });
    }).catch(async (e: unknown) => {
      app.kill('SIGKILL');
      await exited;
      throw e;
    });
  }
  return app;
}

/** Waits until a worker is connected to the deliver queue (BullMQ names its connections per queue). */
export async function waitForWorkers(redisUrl: string, prefix: string, count = 1, timeoutMs = 30_000): Promise<void> {
  const q = new Queue('deliver', { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix: queueKeyPrefix(prefix, 'deliver') });
  try {
    await until(async () => (await q.getWorkersCount()) >= count, timeoutMs, `${count} deliver worker(s)`);
  } finally {
    await q.close();
  }
}

/** Polls `probe` every 100 ms until it is truthy; a probe that throws (a dependency still away) is polled again. */
export function until<T>(probe: () => Promise<T> | T, timeoutMs: number, what: string, everyMs = 100): Promise<NonNullable<T>> {
  return waitUntil(probe as () => Promise<T | false>, what, { timeoutMs, everyMs, tolerateErrors: true });
}

/** Stops every process still running (afterAll), SIGKILL after a grace period. */
export async function stopAll(apps: AppProcess[], graceMs = 10_000): Promise<void> {
  await Promise.all(
    apps.map(async (a) => {
      if (a.proc.exitCode !== null || a.proc.signalCode !== null) return;
      a.kill('SIGTERM');
      await a.waitExit(graceMs).catch(() => {});
    }),
  );
}
