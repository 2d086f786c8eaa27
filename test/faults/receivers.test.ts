import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postStatus } from '../../src/app/statuses.js';
import { newId } from '../../src/core/ids.js';
import { deliveries, follows, sources, webhooks } from '../../src/db/schema.js';
import { WebhookReceiver } from '../fakes/webhook-receiver.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix, type TestDatabase } from '../helpers/db.js';
import { dropPrefix } from '../helpers/queues.js';
import { startApp, stopAll, until, waitForWorkers, type AppProcess } from './processes.js';
import { directContext } from './seed.js';

/**
 * Receivers that misbehave, against a real worker process: one that never answers (WEBHOOK_TIMEOUT_MS
 * fires), one that answers 410 Gone, one that resets the connection, one that redirects. Each delivery
 * must end in the right state, with the right attempt count and error.
 */

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const PATHS = ['/ok', '/hang', '/gone', '/reset', '/redirect'] as const;
type Path = (typeof PATHS)[number];

let db: TestDatabase;
let receiver: WebhookReceiver;
let elsewhere: Server;
let elsewhereHits = 0;
let worker: AppProcess;
const apps: AppProcess[] = [];
let env: Record<string, string>;
let serviceId: string;
const hooks = new Map<Path, { id: string; ownerId: string }>();

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await WebhookReceiver.start();
  elsewhere = createServer((req, res) => {
    elsewhereHits++;
    req.resume();
    res.end('ok');
  });
  elsewhere.listen(0, '127.0.0.1');
  await once(elsewhere, 'listening');
  receiver.answer('/hang', { kind: 'hang' });
  receiver.answer('/gone', { kind: 'status', status: 410 });
  receiver.answer('/reset', { kind: 'reset' });
  receiver.answer('/redirect', { kind: 'redirect', status: 302, location: `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/taken` });

  serviceId = newId();
  await db.db.insert(sources).values({ id: serviceId, handle: 'alerts', kind: 'service', name: 'Alerts' });
  for (const p of PATHS) {
    const ownerId = newId();
    await db.db.insert(sources).values({ id: ownerId, handle: `owner${p.slice(1)}`, kind: 'person', name: `Owner ${p}`, email: `owner${p.slice(1)}@corp.example` });
    const id = newId();
    await db.db.insert(webhooks).values({ id, ownerId, url: receiver.url(p), secret: SECRET });
    await db.db.insert(follows).values({ id: newId(), subscriberKind: 'webhook', subscriberId: id, targetKind: 'source', target: serviceId, state: 'active', route: 'webhook' });
    receiver.expect(p, SECRET);
    hooks.set(p, { id, ownerId });
  }

  const prefix = testQueuePrefix();
  env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_TIMEOUT_MS: '300',
    // Three attempts, a fifth of a second apart.
    WEBHOOK_RETRY_DELAYS: '0.2,0.2',
    LOG_LEVEL: 'warn',
    OUTBOX_DIR: path.join(os.tmpdir(), `tp-faults-${prefix}`),
  };
  worker = await startApp('worker', env);
  apps.push(worker);
  await waitForWorkers(REDIS_URL, prefix);
}, 90_000);

afterAll(async () => {
  await stopAll(apps);
  await receiver?.close();
  elsewhere?.closeAllConnections();
  if (elsewhere) await new Promise((r) => elsewhere.close(r));
  await db?.drop();
  if (env?.QUEUE_PREFIX) await dropPrefix(env.QUEUE_PREFIX);
});

const rowFor = async (statusId: string, p: Path) =>
  (await db.db.select().from(deliveries).where(and(eq(deliveries.statusId, statusId), eq(deliveries.subscriberId, hooks.get(p)!.id))))[0];

const final = (state: string | undefined) => state === 'sent' || state === 'failed' || state === 'skipped';

describe('misbehaving webhook receivers', () => {
  let statusId: string;

  beforeAll(async () => {
    statusId = (await postStatus(directContext(db.db, env), { sourceId: serviceId, text: 'disk 91% on db-1 #alert', platform: 'api' })).status.id;
    await until(async () => {
      for (const p of PATHS) if (!final((await rowFor(statusId, p))?.state)) return false;
      return true;
    }, 60_000, 'every delivery in a final state');
  }, 90_000);

  it('a receiver that answers 2xx: sent after one attempt', async () => {
    expect(await rowFor(statusId, '/ok')).toMatchObject({ state: 'sent', attempts: 1, lastError: null });
    expect(receiver.eventsAt('/ok').map((e) => e.body.data.id)).toEqual([statusId]);
  });

  it('a receiver that never answers: each attempt times out after WEBHOOK_TIMEOUT_MS, then failed', async () => {
    const d = await rowFor(statusId, '/hang');
    expect(d).toMatchObject({ state: 'failed', attempts: 3 });
    expect(d!.lastError).toMatch(/no answer.*300 ms/);
    expect(receiver.hits('/hang')).toBe(3);
    // The same delivery each time: one webhook-id across the retries.
    expect(new Set(receiver.requests.filter((r) => r.path === '/hang').map((r) => r.id))).toEqual(new Set([d!.id]));
  });

  it('a receiver that answers 410 Gone: failed at once, the endpoint disabled and its owner told', async () => {
    const d = await rowFor(statusId, '/gone');
    expect(d).toMatchObject({ state: 'failed', attempts: 1 });
    expect(d!.lastError).toMatch(/410/);
    expect(receiver.hits('/gone')).toBe(1);
    const [w] = await db.db.select().from(webhooks).where(eq(webhooks.id, hooks.get('/gone')!.id));
    expect(w).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });
    await until(
      async () => (await db.db.select().from(deliveries).where(and(eq(deliveries.event, 'notice'), eq(deliveries.subscriberId, hooks.get('/gone')!.ownerId)))).length === 1,
      15_000,
      "a notice to the endpoint's owner",
    );
  });

  it('a receiver that resets the connection: retried, then failed with the network error', async () => {
    const d = await rowFor(statusId, '/reset');
    expect(d).toMatchObject({ state: 'failed', attempts: 3 });
    expect(d!.lastError).toMatch(/no answer: connection reset or closed before an answer \(ECONNRESET\)/);
    expect(receiver.hits('/reset')).toBe(3);
  });

  it('a receiver that redirects: the redirect is not followed; retried, then failed', async () => {
    const d = await rowFor(statusId, '/redirect');
    expect(d).toMatchObject({ state: 'failed', attempts: 3 });
    expect(d!.lastError).toMatch(/302.*not followed/);
    expect(elsewhereHits).toBe(0);
  });

  it('the next status skips the disabled endpoint and reaches the others', async () => {
    receiver.answer('/reset', { kind: 'ok' });
    const next = (await postStatus(directContext(db.db, env), { sourceId: serviceId, text: 'disk back to 40% #alert', platform: 'api' })).status.id;
    await until(async () => final((await rowFor(next, '/ok'))?.state) && final((await rowFor(next, '/reset'))?.state), 30_000, 'the next status delivered');
    expect(await rowFor(next, '/gone')).toMatchObject({ state: 'skipped', reason: 'webhook disabled', attempts: 0 });
    expect(await rowFor(next, '/reset')).toMatchObject({ state: 'sent', attempts: 1 });
    expect(receiver.hits('/gone')).toBe(1);
    expect(receiver.badSignatures).toEqual([]);
  });
});
