import { and, count, eq, gt, lt, min } from 'drizzle-orm';
import type { AppContext } from '../../app/context.js';
import { setSmsStopped } from '../../app/phones.js';
import { statusUrl } from '../../app/status-view.js';
import { quietUntil } from '../../core/quiet-hours.js';
import { deliveries, follows, smsNumbers, smsSends, sources, statuses } from '../../db/schema.js';
import type { Channel, DeliveryOutcome, DeliveryRecord } from '../../pipeline/channel.js';
import type { SmsProvider } from './provider.js';
import { statusText, summaryText } from './sms-text.js';

const HOUR_MS = 60 * 60_000;

export interface SmsChannelDeps {
  ctx: Pick<AppContext, 'db' | 'clock' | 'config' | 'log'>;
  provider: SmsProvider;
  /** SMS_PER_HOUR: status texts (summaries included) to one number in any 60 minutes. */
  perHour: number;
}

type Plan =
  | { kind: 'skip'; reason: string }
  | { kind: 'send'; number: string; body: string; summary: boolean }
  | { kind: 'wait'; ms: number };

/**
 * Route `sms` (SPEC section 9): one text per status to the person's verified number, through the same
 * delivery rows, retries and skip reasons as every route. The switch and quiet hours apply (a status in
 * quiet hours waits as a delayed retry until they end). At most `perHour` texts per number in any 60
 * minutes: past that, the first status held back becomes the carrier of ONE summary text, sent when the
 * window allows, and every other one is counted into it (skipped, reason says so).
 *
 * A send is reserved in `sms_sends` (keyed by delivery id) before it goes, under a row lock on the
 * number, so workers in parallel never pass the cap; a send that does not happen gives its slot back.
 */
export function createSmsChannel(deps: SmsChannelDeps): Channel {
  const { db } = deps.ctx;
  const log = deps.ctx.log.child({ name: 'sms' });

  async function plan(d: DeliveryRecord, now: Date): Promise<Plan> {
    if (d.event !== 'status.created' || !d.statusId) return { kind: 'skip', reason: `a ${d.event} is not texted` };
    const [person] = await db.select().from(sources).where(eq(sources.id, d.subscriberId)).limit(1);
    if (!person || person.kind !== 'person') return { kind: 'skip', reason: 'person not found' };
    if (person.switchedOff) return { kind: 'skip', reason: 'switched off' };
    const [row] = await db.select({ s: statuses, src: sources }).from(statuses).innerJoin(sources, eq(sources.id, statuses.sourceId)).where(eq(statuses.id, d.statusId)).limit(1);
    // The summary's carrier sends the summary whatever became of its own status or follow since.
    const [own] = await db.select({ carrier: smsNumbers.summaryDeliveryId }).from(smsNumbers).where(eq(smsNumbers.personId, person.id)).limit(1);
    const carrying = own?.carrier === d.id;
    if (!carrying && (!row || row.s.deletedAt)) return { kind: 'skip', reason: 'status deleted' };
    if (!carrying && d.followId) {
      const [f] = await db.select({ state: follows.state }).from(follows).where(eq(follows.id, d.followId)).limit(1);
      if (!f) return { kind: 'skip', reason: 'unfollowed' };
      if (f.state !== 'active') return { kind: 'skip', reason: f.state === 'off' ? 'follow off' : 'follow pending' };
    }
    const until = quietUntil(now, person.timezone, person.quietStart, person.quietEnd);
    if (until) return { kind: 'wait', ms: until.getTime() - now.getTime() };
    const handle = row?.src.handle ?? '';

    return db.transaction(async (tx): Promise<Plan> => {
      const [p] = await tx.select().from(smsNumbers).where(eq(smsNumbers.personId, person.id)).limit(1).for('update');
      if (!p?.verifiedAt) return { kind: 'skip', reason: 'no verified phone number' };
      if (p.stoppedAt) return { kind: 'skip', reason: 'texts stopped (STOP)' };
      const [reserved] = await tx.select({ id: smsSends.deliveryId }).from(smsSends).where(eq(smsSends.deliveryId, d.id)).limit(1);
      const isCarrier = p.summaryDeliveryId === d.id;
      if (!isCarrier && (!row || row.s.deletedAt)) return { kind: 'skip', reason: 'status deleted' };
      const body = () => (isCarrier || !row ? summaryText(p.waiting, deps.perHour) : statusText(handle, row.s.text, statusUrl(deps.ctx.config.publicUrl, row.s.id)));
      // A retry of a send already reserved (the worker stopped before it could record the answer).
      if (reserved) return { kind: 'send', number: p.number, body: body(), summary: isCarrier };

      // Only the last hour matters: older rows of this number go (keeps the table at about perHour rows a number).
      await tx.delete(smsSends).where(and(eq(smsSends.number, p.number), lt(smsSends.sentAt, new Date(now.getTime() - 2 * HOUR_MS))));
      const [w] = await tx
        .select({ n: count(), oldest: min(smsSends.sentAt) })
        .from(smsSends)
        .where(and(eq(smsSends.number, p.number), gt(smsSends.sentAt, new Date(now.getTime() - HOUR_MS))));
      const used = w?.n ?? 0;
      const freeInMs = w?.oldest ? Math.max(1000, w.oldest.getTime() + HOUR_MS - now.getTime() + 1000) : 1000;
      // A carrier whose delivery ended (failed for good, re-sent by hand) no longer carries anything.
      let carrier = p.summaryDeliveryId;
      if (carrier && !isCarrier) {
        const [c] = await tx.select({ state: deliveries.state }).from(deliveries).where(eq(deliveries.id, carrier)).limit(1);
        if (!c || c.state === 'failed' || c.state === 'sent' || c.state === 'skipped') carrier = null;
      }
      if (isCarrier || (carrier === null && used < deps.perHour)) {
        if (used >= deps.perHour) return { kind: 'wait', ms: freeInMs };
        await tx.insert(smsSends).values({ deliveryId: d.id, number: p.number, sentAt: now }).onConflictDoNothing();
        return { kind: 'send', number: p.number, body: body(), summary: isCarrier };
      }
      // Over the cap, or a summary already waits: count this status into it.
      const waiting = { ...p.waiting, [handle]: (p.waiting[handle] ?? 0) + 1 };
      await tx
        .update(smsNumbers)
        .set({ waiting, updatedAt: now, ...(carrier === null ? { summaryDeliveryId: d.id } : {}) })
        .where(eq(smsNumbers.personId, person.id));
      if (carrier === null) return { kind: 'wait', ms: freeInMs };
      return { kind: 'skip', reason: `over SMS_PER_HOUR (${deps.perHour}): counted in one summary text` };
    });
  }

  const release = (deliveryId: string) => db.delete(smsSends).where(eq(smsSends.deliveryId, deliveryId));

  return {
    route: 'sms',
    maxAttempts: 5,
    backoffMs: (attempt: number) => Math.min(5000 * 4 ** (attempt - 1), 10 * 60_000),
    async deliver(d: DeliveryRecord): Promise<DeliveryOutcome> {
      const now = deps.ctx.clock.now();
      const p = await plan(d, now);
      if (p.kind === 'skip') return p;
      // Quiet hours or a full hour: the same delivery comes back later (a delayed retry uses no attempt).
      if (p.kind === 'wait') return { kind: 'retry', error: 'waiting: quiet hours or SMS_PER_HOUR', retryAfterMs: p.ms };
      const r = await deps.provider.send(p.number, p.body);
      switch (r.kind) {
        case 'sent':
          if (p.summary) await db.update(smsNumbers).set({ waiting: {}, summaryDeliveryId: null, updatedAt: now }).where(eq(smsNumbers.number, p.number));
          return { kind: 'sent' };
        case 'stopped':
          // The number texted STOP to the provider itself (Twilio 21610): opted out, not a failure to retry.
          await release(d.id);
          await setSmsStopped(deps.ctx, p.number, true, { via: 'sms', reason: `${deps.provider.name}: ${r.error}` });
          log.info({ delivery: d.id }, 'number opted out with the provider; texts stopped');
          return { kind: 'skip', reason: 'texts stopped (STOP)' };
        case 'retry':
          await release(d.id);
          return r.retryAfterMs !== undefined ? { kind: 'retry', error: r.error, retryAfterMs: r.retryAfterMs } : { kind: 'retry', error: r.error };
        case 'fail':
          await release(d.id);
          return { kind: 'fail', reason: r.error };
      }
    },
  };
}
