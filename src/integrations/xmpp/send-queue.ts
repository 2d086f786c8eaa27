import { Queue, QueueEvents, Worker } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { connectRedis, queueKeyPrefix, type RedisConnection, type RedisTarget } from '../../redis.js';
import type { ComponentConnection } from './connection.js';
import { outStanza, toElement, type OutStanza } from './stanzas.js';

/**
 * XMPP sends travel through one BullMQ queue that only the connection's holder consumes (SPEC section 8):
 * any worker's XMPP channel adds a job and waits for its outcome; the holder writes the stanzas and
 * confirms them with a ping (connection.ts). While the component is offline the holder's consumer is
 * paused, so jobs wait; a channel that waited `waitMs` in vain gives up, takes its job back if it is still
 * waiting, and its delivery is retried on the route's schedule. A job older than that is never sent.
 */

export const XMPP_SEND_QUEUE = 'xmpp-send';

const sendJob = z.object({ stanzas: z.array(outStanza).min(1).max(50), queuedAt: z.number() });
type SendJob = z.infer<typeof sendJob>;

export type SendResult = { ok: true } | { ok: false; error: string };

export interface XmppSender {
  /** Hands the stanzas to the holder and waits until they are written and confirmed (or not). */
  send(jobId: string, stanzas: OutStanza[]): Promise<SendResult>;
  close(): Promise<void>;
}

export interface SendQueueOptions {
  redis: RedisTarget;
  /** QUEUE_PREFIX; the queue's keys go under its own hash tag (queueKeyPrefix), like every queue's. */
  prefix: string;
  log: Logger;
  /** How long a send waits for the holder (default 20 s). */
  waitMs?: number;
}

export function createXmppSender(opts: SendQueueOptions): XmppSender {
  const waitMs = opts.waitMs ?? 20_000;
  const log = opts.log.child({ name: 'xmpp-send' });
  const connection = connectRedis(opts.redis, { maxRetriesPerRequest: 3 });
  const eventsConnection = connectRedis(opts.redis, { maxRetriesPerRequest: null });
  for (const c of [connection, eventsConnection]) c.on('error', (err: Error) => log.error({ err }, 'redis connection error (xmpp send)'));
  const queue = new Queue<SendJob>(XMPP_SEND_QUEUE, { connection, prefix: queueKeyPrefix(opts.prefix, XMPP_SEND_QUEUE) });
  const events = new QueueEvents(XMPP_SEND_QUEUE, { connection: eventsConnection, prefix: queueKeyPrefix(opts.prefix, XMPP_SEND_QUEUE) });
  queue.on('error', (err) => log.error({ err }, 'xmpp send queue error'));
  events.on('error', (err) => log.error({ err }, 'xmpp send events error'));
  // Each send in flight waits with a listener of its own (job.waitUntilFinished); the worker's concurrency bounds them.
  queue.setMaxListeners(0);
  events.setMaxListeners(0);
  const ready = events.waitUntilReady();
  return {
    async send(jobId, stanzas) {
      await ready;
      const job = await queue.add('send', { stanzas, queuedAt: Date.now() }, { jobId, attempts: 1, removeOnComplete: true, removeOnFail: true });
      try {
        await job.waitUntilFinished(events, waitMs);
        return { ok: true };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // Not sent yet (the component is offline): take it back so it cannot go out after we gave up.
        await job.remove().catch(() => {});
        return { ok: false, error: /timed out|timeout/i.test(message) ? 'XMPP component not connected' : message };
      }
    },
    async close() {
      await Promise.allSettled([queue.close(), events.close()]);
      await Promise.allSettled([connection.quit(), eventsConnection.quit()]);
    },
  };
}

export interface SendConsumer {
  close(): Promise<void>;
}

/** The holder's side: writes each job's stanzas while the component is online, paused while it is not. */
export function startSendConsumer(opts: SendQueueOptions & { component: ComponentConnection; concurrency?: number }): SendConsumer {
  const waitMs = opts.waitMs ?? 20_000;
  const log = opts.log.child({ name: 'xmpp-send-consumer' });
  const connection: RedisConnection = connectRedis(opts.redis, { maxRetriesPerRequest: null });
  connection.on('error', (err: Error) => log.error({ err }, 'redis connection error (xmpp consumer)'));
  const worker = new Worker<SendJob>(
    XMPP_SEND_QUEUE,
    async (job) => {
      const data = sendJob.parse(job.data);
      // The channel gave up on it and retries the delivery itself: sending now would only duplicate.
      if (Date.now() - data.queuedAt > waitMs) throw new Error('expired before the component could send it');
      for (const s of data.stanzas) await opts.component.send(toElement(s));
      await opts.component.flush();
    },
    { connection, prefix: queueKeyPrefix(opts.prefix, XMPP_SEND_QUEUE), concurrency: opts.concurrency ?? 64, autorun: false },
  );
  worker.on('error', (err) => log.error({ err }, 'xmpp send worker error'));
  let started = false;
  const onOnline = () => {
    if (started) {
      worker.resume().catch((err: unknown) => log.error({ err }, 'xmpp send worker did not resume'));
      return;
    }
    started = true;
    worker.run().catch((err: unknown) => log.error({ err }, 'xmpp send worker stopped'));
  };
  const onOffline = () => {
    if (started) worker.pause(true).catch(() => {});
  };
  opts.component.on('online', onOnline);
  opts.component.on('offline', onOffline);
  if (opts.component.online) onOnline();
  return {
    async close() {
      opts.component.off('online', onOnline);
      opts.component.off('offline', onOffline);
      await worker.close();
      await connection.quit().catch(() => {});
    },
  };
}
