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
  /** Sends one text at once (verification codes); set by main.ts only when SMS is configured. */
  sms?: TextSender | undefined;
}

/** The SMS provider as the use cases see it: one text to one E.164 number, now. */
export interface TextSender {
  send(to: string, text: string): Promise<{ ok: true } | { ok: false; reason: string }>;
}
