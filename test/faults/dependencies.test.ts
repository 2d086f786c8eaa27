import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingReceiver } from '../fakes/counting-receiver.js';
import { TcpProxy } from '../fakes/tcp-proxy.js';
import { createTestDatabase, PG_ADMIN_URL, REDIS_URL, testQueuePrefix, type TestDatabase } from '../helpers/db.js';
import { startApp, stopAll, until, waitForWorkers, type AppProcess } from './processes.js';
import { OwnRedis } from './redis-server.js';
import { seedWebhookFollowers, type Seeded } from './seed.js';

/**
 * Redis and PostgreSQL go away while statuses are being delivered. The machine's shared servers are
 * never touched: the web and worker processes reach them through TCP proxies of this test's own,
 * which it cuts (connections reset, new ones refused) and restores. Behind the Redis proxy is a Redis
 * server of the test's own, which it also stops and starts again.
 */

const FOLLOWERS = 40;
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

let db: TestDatabase;
let pg: TcpProxy;
let redis: TcpProxy;
let ownRedis: OwnRedis;
let receiver: CountingReceiver;
let seeded: Seeded;
let web: AppProcess;
const apps: AppProcess[] = [];
/** Status ids the API accepted (201), by Idempotency-Key. */
const accepted = new Map<string, string>();

beforeAll(async () => {
  db = await createTestDatabase();
  pg = await TcpProxy.start(PG_ADMIN_URL);
  ownRedis = await OwnRedis.start();
  redis = await TcpProxy.start(ownRedis.url);
  receiver = await CountingReceiver.start({ secret: SECRET, delayMs: 10 });
  seeded = await seedWebhookFollowers(db.db, { handle: 'ops', n: FOLLOWERS, urlOf: (i) => receiver.url(i), secret: SECRET });
  const prefix = testQueuePrefix();
  const env = {
    DATABASE_URL: pg.rewrite(db.url),
    REDIS_URL: redis.rewrite(REDIS_URL),
    QUEUE_PREFIX: prefix,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // Attempts spread over about 30 s: longer than either outage below.
    WEBHOOK_RETRY_DELAYS: '1,2,3,5,8,13',
    WORKER_CONCURRENCY: '8',
    LOG_LEVEL: 'info',
    OUTBOX_DIR: path.join(os.tmpdir(), `tp-faults-${prefix}`),
  };
  web = await startApp('web', env);
  apps.push(web);
  apps.push(await startApp('worker', { ...env, LOG_LEVEL: 'warn' }));
  await waitForWorkers(ownRedis.url, prefix);
}, 120_000);

afterAll(async () => {
  await pg?.restore().catch(() => {});
  await redis?.restore().catch(() => {});
  await stopAll(apps);
  await receiver?.close();
  await pg?.close();
  await redis?.close();
  await ownRedis?.close();
  await db?.drop();
});

type Answer = { status: number; contentType: string; body: { id?: string; status?: number; detail?: string } | null };

/**
 * POSTs a status with an Idempotency-Key. No HTTP answer at all (status 0) says why, with the web
 * process's state and last lines: that is how a driver crash in the web process was found.
 */
async function post(key: string): Promise<Answer> {
  try {
    const r = await fetch(`${web.url}/api/v1/statuses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seeded.serviceToken}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ text: `status ${key} #ops` }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    const body = text ? (JSON.parse(text) as { id?: string }) : null;
    if (r.status === 201 && body?.id) accepted.set(key, body.id);
    return { status: r.status, contentType: r.headers.get('content-type') ?? '', body };
  } catch (e) {
    const cause = e instanceof Error && e.cause ? `: ${String(e.cause)}` : '';
    const alive = web.proc.exitCode === null && web.proc.signalCode === null;
    const detail = `${String(e)}${cause}; the web process is ${alive ? 'running' : 'gone'}; its last lines:\n${web.lines.slice(-6).join('\n')}`;
    return { status: 0, contentType: '', body: { detail } };
  }
}

/** Posts under the same key until the API accepts it (a client retrying after a 503). */
async function postUntilAccepted(key: string, timeoutMs = 30_000): Promise<void> {
  await until(async () => (await post(key)).status === 201, timeoutMs, `status ${key} accepted`, 250);
}

const readyz = async () => (await fetch(`${web.url}/readyz`, { signal: AbortSignal.timeout(15_000) })).status;

/** Every accepted status reached every follower exactly once. */
async function expectAllDelivered(what: string): Promise<void> {
  const want = accepted.size * FOLLOWERS;
  await receiver.waitFor(() => receiver.unique >= want, 90_000, `${want} deliveries ${what}`);
  // Late repeats of the same webhook-id are allowed (at-least-once); new deliveries are not.
  await new Promise((r) => setTimeout(r, 1000));
  expect(receiver.unique).toBe(want);
  expect(receiver.badSignatures).toBe(0);
  const ids = new Set(accepted.values());
  for (let i = 0; i < FOLLOWERS; i++) {
    const got = (receiver.byPath.get(`/f/${i}`) ?? []).map((g) => g.statusId);
    expect(got.length, `follower ${i}`).toBe(ids.size);
    expect(new Set(got), `follower ${i}`).toEqual(ids);
  }
}

describe('dependencies going away during deliveries', () => {
  it('Redis cut and restored: readiness says 503 meanwhile; every accepted status is delivered once', async () => {
    for (let i = 0; i < 8; i++) expect((await post(`r${i}`)).status).toBe(201);
    await receiver.waitFor(() => receiver.unique >= 60, 30_000, 'deliveries under way');
    await redis.cut();
    expect(receiver.unique, 'cut while deliveries are under way').toBeLessThan(8 * FOLLOWERS);
    const during: number[] = [];
    const cutAt = Date.now();
    expect(await readyz()).toBe(503);
    // The API writes statuses to PostgreSQL (the outbox), so it keeps accepting them while Redis is away,
    // or says 503: it never answers anything else, and what it accepted is delivered later.
    for (let i = 8; i < 12; i++) {
      const r = await post(`r${i}`);
      during.push(r.status);
      expect([201, 503], JSON.stringify(r.body)).toContain(r.status);
      if (r.status === 503) expect(r.contentType).toMatch(/^application\/problem\+json/);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - cutAt))));
    await redis.restore();
    for (let i = 8; i < 12; i++) if (!accepted.has(`r${i}`)) await postUntilAccepted(`r${i}`);
    await until(async () => (await readyz()) === 200, 30_000, 'ready again');
    await expectAllDelivered('after Redis came back');
    console.log(`Redis outage: POSTs during it answered ${during.join(', ')}; ${receiver.repeats} repeated webhook-id(s); ${redis.accepted} Redis connections through the proxy`);
  }, 150_000);

  /**
   * Stops Redis while deliveries are under way, checks readiness and the API meanwhile, starts it again
   * (after `meanwhile`), and expects every accepted status delivered once. Keys are `${tag}0`..`${tag}11`.
   */
  async function restartRedis(tag: string, meanwhile: () => void): Promise<number[]> {
    const before = receiver.unique;
    for (let i = 0; i < 8; i++) expect((await post(`${tag}${i}`)).status).toBe(201);
    await receiver.waitFor(() => receiver.unique >= before + 60, 30_000, 'deliveries under way');
    await ownRedis.stop();
    expect(receiver.unique, 'stopped while deliveries are under way').toBeLessThan(before + 8 * FOLLOWERS);
    const stoppedAt = Date.now();
    expect(await readyz()).toBe(503);
    const during: number[] = [];
    for (let i = 8; i < 12; i++) {
      const r = await post(`${tag}${i}`);
      during.push(r.status);
      expect([201, 503], JSON.stringify(r.body)).toContain(r.status);
      if (r.status === 503) expect(r.contentType).toMatch(/^application\/problem\+json/);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - stoppedAt))));
    meanwhile();
    await ownRedis.start();
    for (let i = 8; i < 12; i++) if (!accepted.has(`${tag}${i}`)) await postUntilAccepted(`${tag}${i}`);
    await until(async () => (await readyz()) === 200, 30_000, 'ready again');
    return during;
  }

  it('Redis restarted mid-delivery (its jobs kept in its append-only file): 503 meanwhile; every accepted status is delivered once', async () => {
    const during = await restartRedis('s', () => {});
    await expectAllDelivered('after Redis restarted');
    console.log(`Redis restart: POSTs while it was down answered ${during.join(', ')}; ${receiver.repeats} repeated webhook-id(s) so far`);
  }, 150_000);

  it('Redis restarted empty (every job lost): the worker requeues from PostgreSQL; every accepted status is delivered once', async () => {
    const during = await restartRedis('e', () => ownRedis.forgetData());
    await expectAllDelivered('after Redis came back empty');
    const requeued = apps.flatMap((a) => a.lines).filter((l) => l.includes('unfinished work requeued from PostgreSQL'));
    expect(requeued.length, 'a worker said it requeued').toBeGreaterThan(0);
    console.log(`Redis restarted empty: POSTs while it was down answered ${during.join(', ')}; ${requeued[0]}; ${receiver.repeats} repeated webhook-id(s) so far`);
  }, 150_000);

  it('PostgreSQL unreachable for a few seconds: the API answers 503, then every accepted status is delivered once', async () => {
    const before = accepted.size;
    for (let i = 0; i < 5; i++) expect((await post(`p${i}`)).status).toBe(201);
    const want = (before + 5) * FOLLOWERS;
    await receiver.waitFor(() => receiver.unique >= want - FOLLOWERS * 4, 30_000, 'deliveries under way');
    await pg.cut();
    const cutAt = Date.now();
    expect(receiver.unique, 'cut while deliveries are under way').toBeLessThan(want);
    const r = await post('p5');
    expect(r.status, JSON.stringify(r.body)).toBe(503);
    expect(r.contentType).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 503, detail: expect.stringMatching(/database|retry/i) });
    expect(await readyz()).toBe(503);
    // A client keeps retrying with the same key while the database is away.
    const retrying = postUntilAccepted('p6', 60_000);
    await new Promise((res) => setTimeout(res, Math.max(0, 4000 - (Date.now() - cutAt))));
    await pg.restore();
    await retrying;
    await postUntilAccepted('p5');
    await until(async () => (await readyz()) === 200, 30_000, 'ready again');
    expect(accepted.size).toBe(before + 7);
    await expectAllDelivered('after PostgreSQL came back');
    console.log(`PostgreSQL outage: ${receiver.repeats} repeated webhook-id(s) in all; ${pg.accepted} PostgreSQL connections through the proxy`);
  }, 150_000);
});
