import { pino } from 'pino';
import type { AppContext } from '../../src/app/context.js';
import { parseConfig, type Config } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { createTestDatabase, testQueuePrefix, REDIS_URL, type TestDatabase } from './db.js';
import { dropPrefix } from './queues.js';

export interface TestContext {
  ctx: AppContext;
  clock: ManualClock;
  database: TestDatabase;
  config: Config;
  prefix: string;
  /** How many times the app asked the relay to run. */
  kicks: number;
  drop(): Promise<void>;
}

/** An AppContext on a fresh PostgreSQL database, with a hand-moved clock and a silent logger. */
export async function createTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const database = await createTestDatabase();
  const prefix = testQueuePrefix();
  const config = parseConfig({
    DATABASE_URL: database.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: 'http://127.0.0.1:3000',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const clock = new ManualClock(new Date('2026-11-23T10:00:00Z'));
  const t: TestContext = {
    ctx: undefined as unknown as AppContext,
    clock,
    database,
    config,
    prefix,
    kicks: 0,
    drop: async () => {
      await database.drop();
      await dropPrefix(prefix);
    },
  };
  t.ctx = { db: database.db, config, log: pino({ level: 'silent' }), clock, kick: () => void t.kicks++ };
  return t;
}
