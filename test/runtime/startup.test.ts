import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../fakes/tcp-proxy.js';
import { OwnRedis } from '../faults/redis-server.js';
import { createTestDatabase, PG_ADMIN_URL, REDIS_URL, testQueuePrefix, type TestDatabase } from '../helpers/db.js';
import { dropPrefix } from '../helpers/queues.js';
import { cleanEnv, messageOf, ROOT, run, survivors, type Proc } from './helpers.js';

/**
 * Start-up tells the truth and SIGTERM always wins (SPEC §6): a dependency that is away is named with
 * its cause in one line, repeated at most every 10 s, and the process exits 1 after STARTUP_TIMEOUT; an
 * unmigrated database is refused; a SIGTERM during an outage at start exits 0 at once; a SIGTERM while
 * Redis or PostgreSQL is down drains within SHUTDOWN_TIMEOUT, exit 0, nothing left behind.
 */

const tsx = import.meta.resolve('tsx');
const procs: Proc[] = [];
const prefix = testQueuePrefix();
let db: TestDatabase;
let unmigrated: { url: string; name: string };

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function app(role: string, env: Record<string, string>): Proc {
  const p = run(process.execPath, ['--import', tsx, path.join(ROOT, 'src/main.ts'), role], {
    env: cleanEnv({ PORT: '0', QUEUE_PREFIX: prefix, OUTBOX_DIR: path.join(os.tmpdir(), `tp-startup-${prefix}`), SHUTDOWN_TIMEOUT: '6', ...env }),
  });
  procs.push(p);
  return p;
}

/** Warning and error lines: what an operator reads. */
const complaints = (p: Proc) => p.lines.filter((l) => /"level":(40|50|60)/.test(l)).map(messageOf);

beforeAll(async () => {
  db = await createTestDatabase();
  const name = `tp_unmig_${randomBytes(5).toString('hex')}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  unmigrated = { url: u.toString(), name };
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.killTree();
  await db?.drop();
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${unmigrated.name} with (force)`);
  await admin.end();
  await dropPrefix(prefix);
});

describe('start-up that tells the truth', () => {
  it('a wrong DATABASE_URL: the cause in one line (connection refused, a missing database), exit 1 after STARTUP_TIMEOUT', async () => {
    const port = await closedPort();
    const refused = app('web', { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/tp`, REDIS_URL, STARTUP_TIMEOUT: '2' });
    const missing = new URL(db.url);
    missing.pathname = '/tp_no_such_database';
    const absent = app('worker', { DATABASE_URL: missing.toString(), REDIS_URL, STARTUP_TIMEOUT: '2' });
    expect((await refused.waitExit(60_000)).code).toBe(1);
    expect((await absent.waitExit(60_000)).code).toBe(1);
    expect(complaints(refused)).toEqual([
      `DATABASE_URL: connection refused at 127.0.0.1:${port}; retrying`,
      `DATABASE_URL: connection refused at 127.0.0.1:${port}; gave up after 2 s (STARTUP_TIMEOUT)`,
    ]);
    expect(complaints(absent)).toEqual([
      'DATABASE_URL: database "tp_no_such_database" does not exist; retrying',
      'DATABASE_URL: database "tp_no_such_database" does not exist; gave up after 2 s (STARTUP_TIMEOUT)',
    ]);
  }, 120_000);

  it('Redis away: named with its cause, repeated every 10 s and no more often, exit 1 after STARTUP_TIMEOUT', async () => {
    const port = await closedPort();
    const p = app('web', { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${port}`, STARTUP_TIMEOUT: '13' });
    expect((await p.waitExit(90_000)).code).toBe(1);
    const cause = `REDIS_URL: 127.0.0.1:${port} unreachable (ECONNREFUSED); start Redis or set REDIS_URL`;
    // At the start, 10 s later, and when it gives up: three lines in 13 s, not hundreds.
    expect(complaints(p)).toEqual([`${cause}; retrying`, `${cause}; retrying`, `${cause}; gave up after 13 s (STARTUP_TIMEOUT)`]);
    expect(p.lines.some((l) => l.includes('Twitterprise ready'))).toBe(false);
  }, 120_000);

  it('a SIGTERM during a start-up outage exits 0 at once', async () => {
    const port = await closedPort();
    const p = app('worker', { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${port}`, STARTUP_TIMEOUT: '600' });
    await p.waitForLine(/unreachable \(ECONNREFUSED\)/, 60_000);
    const tree = p.tree();
    p.proc.kill('SIGTERM');
    expect(await p.waitExit(10_000)).toEqual({ code: 0, signal: null });
    expect(p.lines.map(messageOf)).toContain('stopped during start-up');
    expect(await survivors(tree)).toEqual([]);
  }, 120_000);

  it('web and worker refuse a database whose migrations are not applied: exit 1, run npx twitterprise migrate', async () => {
    for (const role of ['web', 'worker']) {
      const p = app(role, { DATABASE_URL: unmigrated.url, REDIS_URL, STARTUP_TIMEOUT: '10' });
      expect((await p.waitExit(60_000)).code, role).toBe(1);
      expect(complaints(p), role).toEqual(['database is not migrated: run npx twitterprise migrate']);
    }
  }, 120_000);
});

describe('SIGTERM drains within SHUTDOWN_TIMEOUT even while a dependency is down', () => {
  let ownRedis: OwnRedis;
  let pg: TcpProxy;
  beforeAll(async () => {
    ownRedis = await OwnRedis.start();
    pg = await TcpProxy.start(PG_ADMIN_URL);
  }, 60_000);
  afterAll(async () => {
    await pg?.restore().catch(() => {});
    await pg?.close();
    await ownRedis?.close();
  });

  async function readyPair(env: Record<string, string>): Promise<{ web: Proc; worker: Proc; url: string }> {
    const web = app('web', env);
    const worker = app('worker', env);
    const line = messageOf(await web.waitForLine(/Twitterprise ready on /, 120_000));
    await worker.waitForLine(/Twitterprise ready \(worker/, 120_000);
    const url = `http://127.0.0.1:${/localhost:(\d+)/.exec(line)![1]}`;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    return { web, worker, url };
  }

  async function sigtermExits(p: Proc, what: string): Promise<void> {
    const tree = p.tree();
    p.proc.kill('SIGTERM');
    // SHUTDOWN_TIMEOUT is 6 s: the process is gone by then (a little slack for a loaded machine).
    expect(await p.waitExit(6000 + 4000), `${what}: ${p.lines.slice(-40).join("\n")}`).toEqual({ code: 0, signal: null });
    expect(await survivors(tree), what).toEqual([]);
  }

  it('Redis killed: web and worker exit 0 within SHUTDOWN_TIMEOUT', async () => {
    const { web, worker, url } = await readyPair({ DATABASE_URL: db.url, REDIS_URL: ownRedis.url });
    await ownRedis.stop();
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    await sigtermExits(web, 'web');
    await sigtermExits(worker, 'worker');
    // The outage while draining was reported, not flooded.
    const redisLines = [...web.lines, ...worker.lines].filter((l) => /redis/i.test(l) && /"level":(40|50)/.test(l));
    expect(redisLines.length).toBeLessThan(40);
    await ownRedis.start();
  }, 240_000);

  it('PostgreSQL cut: web and worker exit 0 within SHUTDOWN_TIMEOUT', async () => {
    const { web, worker, url } = await readyPair({ DATABASE_URL: pg.rewrite(db.url), REDIS_URL: ownRedis.url });
    await pg.cut();
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    await sigtermExits(web, 'web');
    await sigtermExits(worker, 'worker');
    await pg.restore();
  }, 240_000);
});
