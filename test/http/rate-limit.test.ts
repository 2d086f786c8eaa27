import type { Response } from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStatusLimiter } from '../../src/http/rate-limit.js';
import { statuses } from '../../src/db/schema.js';
import { REDIS_URL, testQueuePrefix } from '../helpers/db.js';
import { dropPrefix } from '../helpers/queues.js';
import { ADMIN, startHarness, type Harness } from './harness.js';

describe('statuses per token per minute (STATUS_RATE_LIMIT=3)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { STATUS_RATE_LIMIT: '3' } });
  });
  afterAll(() => h?.close());

  const countStatuses = async () => (await h.t.database.db.select({ id: statuses.id }).from(statuses)).length;

  it('accepts the budget with RateLimit headers, then answers 429 problem+json with Retry-After and posts nothing', async () => {
    const ann = await h.person('ann');
    for (let i = 1; i <= 3; i++) {
      const r = await h.call('POST', '/api/v1/statuses', { token: ann.token, body: { text: `update ${i}` } });
      expect(r.status).toBe(201);
      expect(r.headers.get('ratelimit-limit')).toBe('3');
      expect(r.headers.get('ratelimit-remaining')).toBe(String(3 - i));
    }
    const before = await countStatuses();
    const over = await h.call('POST', '/api/v1/statuses', { token: ann.token, body: { text: 'one too many' } });
    expect(over.status).toBe(429);
    expect(over.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const wait = Number(over.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
    expect(over.body).toMatchObject({ status: 429, title: 'Too many requests' });
    expect(over.body.detail).toBe(`This token may post 3 statuses a minute and has used them; retry in ${wait} s.`);
    expect(await countStatuses()).toBe(before);

    // Another token has a budget of its own; reading is not counted.
    const bob = await h.person('bob');
    expect((await h.call('POST', '/api/v1/statuses', { token: bob.token, body: { text: 'hello' } })).status).toBe(201);
    expect((await h.call('GET', '/api/v1/timeline', { token: ann.token })).status).toBe(200);
  });

  it('counts an incoming hook by its own token', async () => {
    expect((await h.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'ci', name: 'CI' } })).status).toBe(201);
    const { url } = (await h.call('POST', '/api/v1/services/ci/hooks', { token: ADMIN })).body as { url: string };
    const hook = url.replace(h.t.config.publicUrl, h.base);
    const post = (text: string) => fetch(hook, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(15_000) });
    for (let i = 0; i < 3; i++) expect((await post(`build ${i}`)).status).toBe(201);
    const over = await post('build 4');
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A bad hook token is refused as before, not counted against anyone.
    const bad = await fetch(`${h.base}/hooks/th_nope`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(15_000) });
    expect(bad.status).toBe(401);
  });
});

describe('STATUS_RATE_LIMIT=0', () => {
  it('sets no budget and no headers', async () => {
    const h = await startHarness({ env: { STATUS_RATE_LIMIT: '0' } });
    try {
      const cy = await h.person('cy');
      for (let i = 0; i < 5; i++) {
        const r = await h.call('POST', '/api/v1/statuses', { token: cy.token, body: { text: `n${i}` } });
        expect(r.status).toBe(201);
        expect(r.headers.get('ratelimit-limit')).toBeNull();
      }
    } finally {
      await h.close();
    }
  });
});

describe('the budget in Redis', () => {
  const prefix = testQueuePrefix();
  const clients: Redis[] = [];
  const client = (url: string) => {
    const r = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1000 });
    r.on('error', () => {});
    clients.push(r);
    return r;
  };
  /** What express would get: the headers the limiter sets. */
  const response = () => {
    const headers = new Map<string, string>();
    return { headers, res: { setHeader: (k: string, v: string) => void headers.set(k.toLowerCase(), v) } as unknown as Response };
  };
  const outcome = (p: Promise<void>) => p.then(() => 'ok', (e: Error) => e.message);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await dropPrefix(prefix);
  });

  it('is shared by every web process', async () => {
    const a = client(REDIS_URL);
    const b = client(REDIS_URL);
    await Promise.all([a, b].map((c) => new Promise((ready) => c.once('ready', ready))));
    const one = createStatusLimiter({ perMinute: 3, redis: a, prefix });
    const two = createStatusLimiter({ perMinute: 3, redis: b, prefix });
    expect(await outcome(one.take(response().res, 'tok:shared'))).toBe('ok');
    expect(await outcome(two.take(response().res, 'tok:shared'))).toBe('ok');
    const third = response();
    expect(await outcome(one.take(third.res, 'tok:shared'))).toBe('ok');
    expect(third.headers.get('ratelimit-remaining')).toBe('0');
    expect(await outcome(two.take(response().res, 'tok:shared'))).toMatch(/may post 3 statuses a minute/);
    expect(await a.keys(`${prefix}:ratelimit:*`)).toEqual([`${prefix}:ratelimit:statuses:tok:shared`]);
  });

  it('counts in memory while Redis does not answer, instead of refusing', async () => {
    // Nothing listens on port 1 of 127.0.0.1.
    const down = client('redis://127.0.0.1:1');
    const limiter = createStatusLimiter({ perMinute: 2, redis: down, prefix });
    expect(await outcome(limiter.take(response().res, 'tok:offline'))).toBe('ok');
    expect(await outcome(limiter.take(response().res, 'tok:offline'))).toBe('ok');
    expect(await outcome(limiter.take(response().res, 'tok:offline'))).toMatch(/may post 2 statuses a minute/);
  });
});
