import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInput, pollInputNow } from '../../../src/app/inputs.js';
import { createService } from '../../../src/app/services.js';
import { systemClock } from '../../../src/core/clock.js';
import { inputs, sources, statuses } from '../../../src/db/schema.js';
import { rss, startFeedServer, type FeedServer } from '../../fakes/feed-server.js';
import { startApp, stopAll, until, type AppProcess } from '../../faults/processes.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { REDIS_URL } from '../../helpers/db.js';

// Two real worker processes (src/main.ts worker) on one database and one Redis: each sweeps and polls;
// each input is fetched once per due time and each item posted once.
const N = 12;
const admin = { id: null, isAdmin: true };
let t: TestContext;
let srv: FeedServer;
const apps: AppProcess[] = [];
let serviceId = '';
const ids: string[] = [];

const items = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => to - k).map((i) => ({ guid: `g${i}`, title: `Item ${i}`, link: `https://status.example.com/${i}` }));

beforeAll(async () => {
  t = await createTestContext({ ALLOW_PRIVATE_URLS: 'true' });
  srv = await startFeedServer();
  await createService(t.ctx, { handle: 'multi', name: 'Multi' });
  serviceId = (await t.ctx.db.select().from(sources).where(eq(sources.handle, 'multi')))[0]!.id;
  for (let i = 0; i < N; i++) {
    srv.set(`/w${i}.rss`, { body: rss(items(1, 1)) });
    ids.push((await createInput(t.ctx, admin, 'multi', { kind: 'feed', url: `${srv.url}/w${i}.rss`, every: 3600 })).id);
  }
  const env = { DATABASE_URL: t.database.url, REDIS_URL, QUEUE_PREFIX: t.prefix, ALLOW_PRIVATE_URLS: 'true', LOG_LEVEL: 'warn' };
  apps.push(...(await Promise.all([startApp('worker', env), startApp('worker', env)])));
}, 90_000);
afterAll(async () => {
  await stopAll(apps);
  await srv?.close();
  await t?.drop();
}, 60_000);

const polledAll = async (round: number) => {
  const rows = await t.ctx.db.select().from(inputs).where(eq(inputs.serviceId, serviceId));
  return rows.length === N && rows.every((r) => r.lastError === null && ids.every((_, i) => srv.hits(`/w${i}.rss`) >= round)) && rows.every((r) => r.lastDueAt !== null);
};
/** The workers run on the real clock; so does "poll now" here. */
const real = () => ({ ...t.ctx, clock: systemClock });
const count = async () => (await t.ctx.db.select({ id: statuses.id }).from(statuses).where(eq(statuses.sourceId, serviceId))).length;

describe('two worker processes', () => {
  it('poll each input once per due time and post each item once', async () => {
    await until(() => polledAll(1), 30_000, 'the baseline polls');
    expect(await count()).toBe(0);
    // New items everywhere, then "poll now" for all: due at once.
    for (let i = 0; i < N; i++) srv.set(`/w${i}.rss`, { body: rss(items(1, 4)) });
    for (const id of ids) await pollInputNow(real(), admin, id);
    await until(async () => (await count()) === 3 * N, 30_000, `${3 * N} statuses`);
    // Once more with nothing new.
    for (const id of ids) await pollInputNow(real(), admin, id);
    await until(() => ids.every((_, i) => srv.hits(`/w${i}.rss`) >= 3), 30_000, 'the third round');
    await until(async () => (await t.ctx.db.select().from(inputs).where(eq(inputs.serviceId, serviceId))).every((r) => r.lastDueAt && r.lastPolledAt), 10_000, 'third round applied');
    // Give a duplicate a chance to show, then count.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await count()).toBe(3 * N);
    const texts = (await t.ctx.db.select({ text: statuses.text }).from(statuses).where(eq(statuses.sourceId, serviceId))).map((s) => s.text);
    expect(new Set(texts).size).toBe(3); // the same three items on every input
    for (let i = 0; i < N; i++) expect(srv.hits(`/w${i}.rss`)).toBe(3);
  }, 120_000);
});
