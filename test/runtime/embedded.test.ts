import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderLockedError, lockFileOf, lockFolder } from '../../src/runtime/folder-lock.js';
import { NO_REDIS_SERVER } from '../../src/runtime/private-redis.js';
import { REDIS_URL, testQueuePrefix } from '../helpers/db.js';
import { dropPrefix } from '../helpers/queues.js';
import { cleanEnv, messageOf, ROOT, run, survivors, type Proc } from './helpers.js';

/**
 * The embedded defaults of `npm start` are safe: one process at a time in the PGlite folder (a second
 * app and a CLI command that writes are refused with the holder's pid, a dead holder's lock is taken
 * over), and a private redis-server when no Redis answers (started, named in the ready line, stopped
 * with the app), or one sentence and exit 1 when there is no redis-server to start.
 *
 * The app runs from a folder of its own (its `./data`), as TypeScript through tsx for speed: the
 * Procfile test covers the compiled build.
 */

const tsx = import.meta.resolve('tsx');
const main = path.join(ROOT, 'src/main.ts');
const cli = path.join(ROOT, 'src/cli.ts');
const dirs: string[] = [];
const procs: Proc[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  for (const p of procs) await p.killTree();
  for (const p of prefixes) await dropPrefix(p);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function workdir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tp-embedded-'));
  dirs.push(d);
  return d;
}

/** A port on 127.0.0.1 with nothing listening (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function app(cwd: string, role: string, env: Record<string, string>): Proc {
  const p = run(process.execPath, ['--import', tsx, main, role], { cwd, env: cleanEnv({ PORT: '0', SHUTDOWN_TIMEOUT: '10', ...env }) });
  procs.push(p);
  return p;
}

async function stop(p: Proc): Promise<number[]> {
  const tree = p.tree();
  p.proc.kill('SIGTERM');
  expect(await p.waitExit(30_000), p.lines.slice(-5).join('\n')).toEqual({ code: 0, signal: null });
  return survivors(tree);
}

/** A pid that belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('the folder lock', () => {
  it('refuses a second holder with the pid, and takes over a lock whose process is gone', async () => {
    const folder = path.join(workdir(), 'data', 'pglite');
    mkdirSync(path.dirname(folder), { recursive: true });
    writeFileSync(lockFileOf(folder), JSON.stringify({ pid: process.ppid, what: 'twitterprise all', since: '2026-01-01T00:00:00.000Z' }), { flag: 'w' });
    let refused: unknown;
    try {
      lockFolder(folder, 'test');
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(FolderLockedError);
    expect((refused as FolderLockedError).holder.pid).toBe(process.ppid);
    expect((refused as Error).message).toContain(`in use by process ${process.ppid}`);

    writeFileSync(lockFileOf(folder), JSON.stringify({ pid: await deadPid(), what: 'twitterprise all', since: '2026-01-01T00:00:00.000Z' }));
    const lock = lockFolder(folder, 'test');
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, what: 'test' });
    expect(() => lockFolder(folder, 'again')).toThrow(FolderLockedError);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
  });
});

describe('the embedded PGlite folder', () => {
  it('a second app and a CLI command that writes are refused, naming the pid; a stale lock is taken over', async () => {
    const cwd = workdir();
    const prefix = testQueuePrefix();
    prefixes.push(prefix);
    mkdirSync(path.join(cwd, 'data'), { recursive: true });
    // A lock left by a process that was killed: taken over.
    writeFileSync(path.join(cwd, 'data', 'pglite.lock'), JSON.stringify({ pid: await deadPid(), what: 'twitterprise all', since: '2026-01-01T00:00:00.000Z' }));
    const first = app(cwd, 'all', { REDIS_URL, QUEUE_PREFIX: prefix, ADMIN_TOKEN: 'embedded-admin-token-0123456789' });
    const readyLine = messageOf(await first.waitForLine(/Twitterprise ready on /, 180_000));
    expect(readyLine).toContain('database: PGlite ./data/pglite;');

    const second = app(cwd, 'all', { REDIS_URL, QUEUE_PREFIX: prefix });
    expect((await second.waitExit(60_000)).code).toBe(1);
    const refusal = second.lines.map(messageOf).find((l) => l.includes('in use'));
    expect(refusal).toBe(
      `./data/pglite is in use by another Twitterprise process (pid ${first.pid}, twitterprise all, since ${JSON.parse(readFileSync(path.join(cwd, 'data', 'pglite.lock'), 'utf8')).since}); stop it first, or give this one its own PGLITE_DIR or a DATABASE_URL.`,
    );

    const write = run(process.execPath, ['--import', tsx, cli, 'service', 'create', 'deploys', 'Deploys'], { cwd, env: cleanEnv({ LOG_LEVEL: 'warn' }) });
    procs.push(write);
    expect((await write.waitExit(60_000)).code).toBe(1);
    expect(write.lines.join('\n')).toBe(
      `Twitterprise (process ${first.pid}) has the database in ./data/pglite open, and only one process at a time may use it: do this through the HTTP API while the app runs, or stop the app and run this command again.`,
    );

    expect(await stop(first)).toEqual([]);
    expect(existsSync(path.join(cwd, 'data', 'pglite.lock'))).toBe(false);
    // With the app stopped, the same command works.
    const again = run(process.execPath, ['--import', tsx, cli, 'service', 'create', 'deploys', 'Deploys'], { cwd, env: cleanEnv({ LOG_LEVEL: 'warn' }) });
    procs.push(again);
    expect(await again.waitExit(120_000), again.lines.join('\n')).toEqual({ code: 0, signal: null });
    expect(again.lines.join('\n')).toContain('Created service @deploys');
  }, 400_000);
});

describe('the private redis-server', () => {
  it('npm start with REDIS_URL unset and no Redis answering starts one on ./data/redis/redis.sock and stops it on exit', async () => {
    const cwd = workdir();
    const first = app(cwd, 'all', { LOCAL_REDIS_PORT: String(await closedPort()), PGLITE_DIR: 'memory://' });
    const ready = messageOf(await first.waitForLine(/Twitterprise ready on /, 180_000));
    expect(ready).toContain('redis: private redis-server on ./data/redis/redis.sock;');
    expect(existsSync(path.join(cwd, 'data', 'redis', 'redis.sock'))).toBe(true);
    expect(existsSync(path.join(cwd, 'data', 'redis.lock'))).toBe(true);
    // A redis-server below the app (tsx adds an esbuild process of its own).
    const servers = first.tree().filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('redis-server') || readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/redis-server'));
    expect(servers).toHaveLength(1);
    expect(await stop(first)).toEqual([]);
    expect(existsSync(path.join(cwd, 'data', 'redis', 'redis.sock'))).toBe(false);
    expect(existsSync(path.join(cwd, 'data', 'redis.lock'))).toBe(false);
    // Its append-only file stays for the next start.
    expect(existsSync(path.join(cwd, 'data', 'redis', 'appendonlydir'))).toBe(true);
  }, 300_000);

  it('without redis-server on PATH: one sentence saying how to install it or set REDIS_URL, exit 1', async () => {
    const cwd = workdir();
    // A PATH with node and nothing else.
    const bin = path.join(cwd, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const p = run(process.execPath, ['--import', tsx, main, 'all'], { cwd, env: { ...cleanEnv({ PORT: '0', LOCAL_REDIS_PORT: String(await closedPort()), PGLITE_DIR: 'memory://' }), PATH: bin } });
    procs.push(p);
    expect((await p.waitExit(120_000)).code).toBe(1);
    expect(p.lines.map(messageOf)).toContain(NO_REDIS_SERVER);
    expect(NO_REDIS_SERVER).toMatch(/apt-get install redis-server.*brew install redis.*REDIS_URL/);
  }, 180_000);
});
