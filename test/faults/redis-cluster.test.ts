import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postStatus } from '../../src/app/statuses.js';
import { deliveries, follows, sources, webhooks } from '../../src/db/schema.js';
import { newId } from '../../src/core/ids.js';
import { QUEUE, queueKeyPrefix } from '../../src/pipeline/queues.js';
import { CountingReceiver } from '../fakes/counting-receiver.js';
import { createTestDatabase, testQueuePrefix, type TestDatabase } from '../helpers/db.js';
import { startApp, stopAll, until, type AppProcess } from './processes.js';
import { OwnRedisCluster } from './redis-cluster.js';
import { directContext, seedWebhookFollowers } from './seed.js';

/**
 * Scale-out on a real distributed engine: a three-node Redis Cluster on loopback, two worker processes
 * with REDIS_CLUSTER, one status to 1,500 webhook followers plus endpoints that fail their first attempt.
 * Every follower gets the status exactly once, the failing ones after a retry, and each queue's keys
 * stay on one node (the hash tag) while the queues spread over the nodes.
 */

const FOLLOWERS = 1500;
const FLAKY = 40;
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

let cluster: OwnRedisCluster;
let db: TestDatabase;
let receiver: CountingReceiver;
let flaky: Server;
const flakySeen = new Map<string, number>();
const apps: AppProcess[] = [];
const prefix = testQueuePrefix();

beforeAll(async () => {
  cluster = await OwnRedisCluster.start(3);
  db = await createTestDatabase();
  receiver = await CountingReceiver.start({ ports: 2, secret: SECRET });
  // A receiver that answers 503 to the first request for each path, then 200: the retry path.
  flaky = createServer((req, res) => {
    const n = (flakySeen.get(req.url ?? '') ?? 0) + 1;
    flakySeen.set(req.url ?? '', n);
    req.resume();
    req.on('end', () => {
      res.statusCode = n === 1 ? 503 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await stopAll(apps);
  await receiver?.close();
  await new Promise<void>((resolve) => (flaky ? flaky.close(() => resolve()) : resolve()));
  await db?.drop();
  await cluster?.stop();
});

describe('a Redis Cluster of three nodes, two worker processes', () => {
  it('fans one status out to every follower once, retries the failing ones, and keeps each queue on one node', async () => {
    const seeded = await seedWebhookFollowers(db.db, { handle: 'clustered', n: FOLLOWERS, urlOf: (i) => receiver.url(i), secret: SECRET });
    const { port } = flaky.address() as { port: number };
    const flakyIds: string[] = [];
    for (let i = 0; i < FLAKY; i++) {
      const ownerId = newId();
      const webhookId = newId();
      await db.db.insert(sources).values({ id: ownerId, handle: `flaky-${i}`, kind: 'person', name: `Flaky ${i}`, email: `flaky-${i}@corp.example` });
      await db.db.insert(webhooks).values({ id: webhookId, ownerId, url: `http://127.0.0.1:${port}/flaky/${i}`, secret: SECRET });
      await db.db.insert(follows).values({ id: newId(), subscriberKind: 'webhook', subscriberId: webhookId, targetKind: 'source', target: seeded.serviceId, state: 'active', route: 'webhook' });
      flakyIds.push(webhookId);
    }
    const env = {
      DATABASE_URL: db.url,
      REDIS_CLUSTER: cluster.nodes,
      QUEUE_PREFIX: prefix,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_DELAYS: '1,1',
      WORKER_CONCURRENCY: '16',
      LOG_LEVEL: 'warn',
      OUTBOX_DIR: path.join(os.tmpdir(), `tp-cluster-${prefix}`),
    };
    apps.push(await startApp('worker', env), await startApp('worker', env));
    const probe = cluster.client();
    try {
      const deliverQueue = new Queue(QUEUE.deliverBatch, { connection: probe, prefix: queueKeyPrefix(prefix, QUEUE.deliverBatch) });
      await until(async () => (await deliverQueue.getWorkersCount()) >= 2, 60_000, 'two batch workers on the cluster');
      await deliverQueue.close();

      const statusId = (await postStatus(directContext(db.db, env), { sourceId: seeded.serviceId, text: 'clustered deploy #deploy', platform: 'api' })).status.id;
      await receiver.waitFor(() => receiver.unique >= FOLLOWERS, 120_000, 'every follower on the counting receiver');
      await until(
        async () => {
          const rows = await db.db.select({ state: deliveries.state }).from(deliveries).where(eq(deliveries.statusId, statusId));
          return rows.length === FOLLOWERS + FLAKY && rows.every((d) => d.state === 'sent');
        },
        120_000,
        'every delivery row sent, the failing ones after their retry',
      );

      for (let i = 0; i < FOLLOWERS; i++) {
        const got = receiver.byPath.get(`/f/${i}`) ?? [];
        expect(got, `follower ${i}`).toHaveLength(1);
        expect(got[0]!.statusId).toBe(statusId);
      }
      expect(receiver.repeats, 'no worker died, so nothing is repeated').toBe(0);
      expect(receiver.badSignatures).toBe(0);
      for (let i = 0; i < FLAKY; i++) expect(flakySeen.get(`/flaky/${i}`), `flaky endpoint ${i}: a refusal, then the retry`).toBe(2);
      const flakyRows = await db.db.select({ attempts: deliveries.attempts, subscriberId: deliveries.subscriberId }).from(deliveries).where(eq(deliveries.statusId, statusId));
      for (const r of flakyRows.filter((x) => flakyIds.includes(x.subscriberId))) expect(r.attempts).toBe(2);

      // Each queue's keys sit on exactly one node (its hash tag); the queues used more than one node.
      const used = new Set<number>();
      for (const name of [QUEUE.fanOut, QUEUE.deliverBatch, QUEUE.deliver]) {
        const holders = await cluster.nodesHolding(`${queueKeyPrefix(prefix, name)}:*`);
        expect(holders, `keys of ${name}`).toHaveLength(1);
        used.add(holders[0]!);
      }
      const slots = new Set<number>();
      for (const name of Object.values(QUEUE)) slots.add(Number(await probe.cluster('KEYSLOT', `${queueKeyPrefix(prefix, name)}:x`)));
      expect(slots.size, 'each queue has a slot of its own').toBe(Object.values(QUEUE).length);
      console.log(`cluster: ${FOLLOWERS + FLAKY} deliveries by two workers; queues on ${used.size} of 3 nodes`);
    } finally {
      probe.disconnect();
    }
  }, 300_000);
});
