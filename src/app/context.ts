import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../log.js';

/**
 * What every use case needs. Built once in main.ts (or by a test) and passed down.
 * `kick` is called after a transaction that wrote outbox rows commits, so the relay
 * moves them into the queue at once instead of at its next poll.
 */
export interface AppContext {
  db: Db;
  config: Config;
  log: Logger;
  clock: Clock;
  kick(): void;
}
