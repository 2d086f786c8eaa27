import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, startDigestScheduler, type Mailer } from '../../../src/integrations/email/index.js';
import { DIGEST_QUEUE, DIGEST_SCHEDULER_ID, type DigestScheduler } from '../../../src/integrations/email/schedule.js';
import { queueKeyPrefix } from '../../../src/pipeline/queues.js';
import { REDIS_URL } from '../../helpers/db.js';
import { waitUntil } from '../../helpers/wait.js';
import { startFakeSmtp, type FakeSmtp } from '../../fakes/smtp.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { follows, person, postQueued, service } from './seed.js';

let smtp: FakeSmtp;
let t: TestContext;
let mailer: Mailer;
const schedulers: DigestScheduler[] = [];

beforeAll(async () => {
  smtp = await startFakeSmtp();
  t = await createTestContext({ SMTP_URL: smtp.url });
  mailer = createMailer(t.config, pino({ level: 'silent' }));
});

afterAll(async () => {
  for (const s of schedulers) await s.close();
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(DIGEST_QUEUE, { connection, prefix: queueKeyPrefix(t.prefix, DIGEST_QUEUE) });
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  mailer?.close();
  await smtp?.close();
  await t?.drop();
});

describe('digest job scheduler', () => {
  it('one scheduler for everyone; its job sends a due digest once, whatever the number of workers', async () => {
    const { ctx, clock } = t;
    const lena = await person(ctx, 'lena', { digest: 'daily', at: '08:00', timezone: 'Europe/Berlin' });
    const s = await service(ctx, 'status', 'Status page');
    const f = await follows(ctx, lena, '@status');
    await postQueued(ctx, clock, { source: s, text: 'All systems go', at: '2026-11-23T06:00:00Z', to: lena, followId: f });
    // 08:00:30 in Berlin: lena's daily digest is due.
    clock.set('2026-11-23T07:00:30Z');

    // Every tick's result, as BullMQ reports it.
    const eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const events = new QueueEvents(DIGEST_QUEUE, { connection: eventsConnection, prefix: queueKeyPrefix(t.prefix, DIGEST_QUEUE) });
    const ticks: { sent: number }[] = [];
    events.on('completed', ({ returnvalue }) => ticks.push(returnvalue as unknown as { sent: number }));
    await events.waitUntilReady();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(DIGEST_QUEUE, { connection, prefix: queueKeyPrefix(t.prefix, DIGEST_QUEUE) });
    try {
      // Two worker processes start their scheduler: upserting twice keeps one scheduler.
      schedulers.push(await startDigestScheduler({ ctx, redisUrl: REDIS_URL, prefix: t.prefix, mailer, everyMs: 200 }));
      schedulers.push(await startDigestScheduler({ ctx, redisUrl: REDIS_URL, prefix: t.prefix, mailer, everyMs: 200 }));
      expect((await queue.getJobSchedulers()).map((j) => j.key)).toEqual([DIGEST_SCHEDULER_ID]);

      const mails = await smtp.waitFor(1, 15_000);
      expect(mails[0]!.to).toEqual(['lena@example.test']);
      expect(mails[0]!.parsed.subject).toBe('Twitterprise daily digest: 1 status from @status');

      // Later ticks (bounded wait) find the digest already sent.
      const deadline = Date.now() + 15_000;
      while (ticks.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(ticks.length).toBeGreaterThanOrEqual(4);
      expect(ticks.reduce((n, x) => n + x.sent, 0)).toBe(1);
    } finally {
      await events.close();
      eventsConnection.disconnect();
      await queue.close();
      connection.disconnect();
    }
    expect(smtp.received).toHaveLength(1);
  });

  it('sets the scheduler again when Redis has forgotten it (a restart without its data)', async () => {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(DIGEST_QUEUE, { connection, prefix: queueKeyPrefix(t.prefix, DIGEST_QUEUE) });
    try {
      if (!schedulers.length) schedulers.push(await startDigestScheduler({ ctx: t.ctx, redisUrl: REDIS_URL, prefix: t.prefix, mailer, everyMs: 200 }));
      expect(await queue.getJobScheduler(DIGEST_SCHEDULER_ID)).toBeDefined();
      await queue.removeJobScheduler(DIGEST_SCHEDULER_ID);
      expect(await queue.getJobScheduler(DIGEST_SCHEDULER_ID)).toBeUndefined();
      await waitUntil(() => queue.getJobScheduler(DIGEST_SCHEDULER_ID), 'the scheduler set again', 5000);
      expect((await queue.getJobSchedulers()).map((j) => j.key)).toEqual([DIGEST_SCHEDULER_ID]);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
