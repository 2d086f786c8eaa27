import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_ADMIN_URL, REDIS_URL, testQueuePrefix } from '../helpers/db.js';
import { dropPrefix } from '../helpers/queues.js';
import { cleanEnv, ensureDist, messageOf, procfile, run, runLine, survivors, type Proc } from './helpers.js';

/**
 * The Procfile as a supervisor runs it (`bash -c "<line>"`): compiled JavaScript with node as the
 * process (no npx, npm, tsx or shell left in between), the release line migrating, web and worker
 * ready, and a SIGTERM that drains, exits 0 and leaves no process behind. Then `npm start` the same way.
 */

const name = `tp_rt_${randomBytes(5).toString('hex')}`;
const dbUrl = (() => {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
})();
const prefix = testQueuePrefix();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-procfile-'));
const procs: Proc[] = [];
let lines: Record<string, string>;

beforeAll(async () => {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  await ensureDist();
  lines = await procfile();
}, 300_000);

afterAll(async () => {
  for (const p of procs) await p.killTree();
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
  await dropPrefix(prefix);
  rmSync(tmp, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) =>
  cleanEnv({ DATABASE_URL: dbUrl, REDIS_URL, QUEUE_PREFIX: prefix, PORT: '0', OUTBOX_DIR: path.join(tmp, 'outbox'), SHUTDOWN_TIMEOUT: '10', ...extra });

/** The ready line's port. */
function portOf(line: string): number {
  const m = /ready on http:\/\/localhost:(\d+)/.exec(messageOf(line));
  if (!m) throw new Error(`no port in ${line}`);
  return Number(m[1]);
}

/** SIGTERM to the process the supervisor started; every process of its tree is gone after, exit 0. */
async function stopAndCheck(p: Proc, what: string): Promise<void> {
  const tree = p.tree();
  p.proc.kill('SIGTERM');
  const exit = await p.waitExit(20_000);
  expect(exit, `${what}: ${p.lines.slice(-5).join('\n')}`).toEqual({ code: 0, signal: null });
  expect(await survivors(tree), `${what}: processes left behind`).toEqual([]);
}

describe('the Procfile, run as a supervisor runs it', () => {
  it('has only node running compiled JavaScript: no npx, npm, tsx or shell', () => {
    expect(Object.keys(lines).sort()).toEqual(['release', 'web', 'worker']);
    for (const [type, line] of Object.entries(lines)) {
      expect(line, type).toMatch(/^node (--[a-z-]+=\d+ )*dist\/[a-z]+\.js [a-z]+$/);
      expect(line, type).not.toMatch(/\b(npx|npm|tsx|sh|bash)\b|[;&|]/);
    }
  });

  it('release migrates; web and worker print the ready line, /readyz is 200, and SIGTERM leaves nothing behind', async () => {
    const release = runLine(lines.release!, { env: env() });
    procs.push(release);
    expect(await release.waitExit(120_000), release.lines.join('\n')).toEqual({ code: 0, signal: null });

    const web = runLine(lines.web!, { env: env() });
    const worker = runLine(lines.worker!, { env: env() });
    procs.push(web, worker);
    const webReady = await web.waitForLine(/Twitterprise ready on http:\/\/localhost:\d+ \(web; database: PostgreSQL /, 90_000);
    expect(messageOf(webReady)).toMatch(/\(web; database: PostgreSQL 127\.0\.0\.1:5432\/tp_rt_[0-9a-f]+; redis: 127\.0\.0\.1:6379; slack: off; teams: local, no auth; email: \.eml files in .*; xmpp: off; sms: off\)$/);
    const workerReady = await worker.waitForLine(/Twitterprise ready \(worker; /, 90_000);
    expect(messageOf(workerReady)).not.toContain('http://');
    // bash ran the line with exec: the supervisor's pid is node itself.
    expect(web.tree()).toHaveLength(1);
    expect(worker.tree()).toHaveLength(1);
    const ready = await fetch(`http://127.0.0.1:${portOf(webReady)}/readyz`);
    expect(ready.status).toBe(200);

    await stopAndCheck(web, 'web');
    await stopAndCheck(worker, 'worker');
  }, 240_000);

  it('npm start (PGlite, first run) is ready, and one SIGTERM to npm drains the whole tree', async () => {
    await ensureDist();
    // Runs the build just made even when someone edits src/ meanwhile (the stale case is tested below).
    const npm = run('npm', ['start'], { env: cleanEnv({ TWITTERPRISE_NO_BUILD: '1', PGLITE_DIR: path.join(tmp, 'pglite'), REDIS_URL, QUEUE_PREFIX: prefix, PORT: '0', OUTBOX_DIR: path.join(tmp, 'outbox'), SHUTDOWN_TIMEOUT: '10' }) });
    procs.push(npm);
    const ready = await npm.waitForLine(/Twitterprise ready on /, 180_000);
    expect(messageOf(ready)).toContain(`(web+worker; database: PGlite ${path.join(tmp, 'pglite')}; redis: 127.0.0.1:6379;`);
    // npm and node below it: no shell or tsx in between.
    const tree = npm.tree();
    expect(tree).toHaveLength(2);
    expect((await fetch(`http://127.0.0.1:${portOf(ready)}/readyz`)).status).toBe(200);
    await stopAndCheck(npm, 'npm start');
  }, 400_000);
});
