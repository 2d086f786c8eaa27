import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';
import { inputs, sources } from '../../src/db/schema.js';
import { createQueues, type Queues } from '../../src/pipeline/queues.js';
import { inputJobId, startInputScheduler, type InputScheduler } from '../../src/pipeline/inputs.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { REDIS_URL } from '../helpers/db.js';
import { waitUntil } from '../helpers/wait.js';

// Two sweepers (each with its own Redis connections and worker) over one database and one Redis.
let t: TestContext;
let qa: Queues;
let qb: Queues;
const schedulers: InputScheduler[] = [];
const calls: string[] = [];
let failOnce: string | null = null;

beforeAll(async () => {
  t = await createTestContext();
  qa = createQueues(REDIS_URL, t.prefix);
  qb = createQueues(REDIS_URL, t.prefix);
  const poll = ({ inputId, due }: { inputId: string; due: Date }) => {
    calls.push(`${inputId}@${due.getTime()}`);
    if (inputId === failOnce) {
      failOnce = null;
      return Promise.reject(new Error('the worker died mid-poll'));
    }
    return Promise.resolve();
  };
  for (const queues of [qa, qb]) schedulers.push(startInputScheduler({ ctx: t.ctx, queues, poll, sweep: false, batch: 50 }));
});
afterAll(async () => {
  for (const s of schedulers) await s.close();
  await qa?.close();
  await qb?.close();
  await t?.drop();
});

async function dueInputs(n: number): Promise<string[]> {
  const serviceId = newId();
  await t.ctx.db.insert(sources).values({ id: serviceId, handle: `svc-${serviceId.slice(-8).toLowerCase()}`, kind: 'service', name: 'S' });
  const rows = Array.from({ length: n }, (_, i) => ({ id: newId(), serviceId, kind: 'feed' as const, url: `https://feeds.example.com/${i}`, dueAt: new Date(t.clock.now().getTime() - 1000) }));
  await t.ctx.db.insert(inputs).values(rows);
  return rows.map((r) => r.id);
}

describe('the input sweeper', () => {
  it('two sweepers at once claim each due input once (SKIP LOCKED), one job per (input, due time)', async () => {
    calls.length = 0;
    const ids = await dueInputs(300);
    const [a, b] = await Promise.all([schedulers[0]!.sweepOnce(), schedulers[1]!.sweepOnce()]);
    expect(a + b).toBe(300);
    await waitUntil(() => calls.length >= 300, '300 polls', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toHaveLength(300);
    expect(new Set(calls.map((c) => c.split('@')[0])).size).toBe(300);
    expect(new Set(calls.map((c) => c.split('@')[0]))).toEqual(new Set(ids));
    // Claimed inputs are leased ahead: sweeping again finds nothing due.
    expect(await schedulers[0]!.sweepOnce()).toBe(0);
    expect(inputJobId(ids[0]!, new Date(0))).not.toContain(':');
  });

  it('a poll that dies mid-way is retried: nothing is lost', async () => {
    calls.length = 0;
    const [id] = await dueInputs(1);
    failOnce = id!;
    expect(await schedulers[1]!.sweepOnce()).toBe(1);
    await waitUntil(() => calls.length >= 2, 'the retry', 20_000);
    expect(new Set(calls)).toEqual(new Set([calls[0]]));
  });
});
