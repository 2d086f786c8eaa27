import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import type { OutboundMessage } from '../../core/messages.js';
import { quietUntil } from '../../core/quiet-hours.js';
import { sources } from '../../db/schema.js';
import type { Channel, DeliveryOutcome, DeliveryRecord } from '../channel.js';
import type { Messengers } from '../messenger.js';
import { chatRetry, reachPerson } from './reach-person.js';
import { statusForDelivery } from './status-message.js';

/** Notices and follow requests carry their finished message in the delivery's payload. */
const storedMessage = z.object({ message: z.looseObject({ kind: z.enum(['status', 'notice', 'follow_request', 'direct', 'summary']) }) });

export interface DmChannelDeps {
  ctx: Pick<AppContext, 'db' | 'clock' | 'config'>;
  messengers: Messengers;
}

/**
 * Route `dm`: a person's Slack and/or Teams DM, per their `dm` preference. Statuses respect the
 * switch and quiet hours (held until the quiet period ends, or moved into the digest); so do direct
 * messages from other people (held, never put in the digest). Notices and follow requests answer the
 * person's own actions and go at once.
 */
export function createDmChannel(deps: DmChannelDeps): Channel {
  const { db } = deps.ctx;
  return {
    route: 'dm',
    ...chatRetry,
    async deliver(d: DeliveryRecord): Promise<DeliveryOutcome> {
      const [person] = await db.select().from(sources).where(eq(sources.id, d.subscriberId)).limit(1);
      if (!person || person.kind !== 'person') return { kind: 'skip', reason: 'person not found' };
      let message: OutboundMessage;
      if (d.event === 'status.created') {
        if (person.switchedOff) return { kind: 'skip', reason: 'switched off' };
        const loaded = await statusForDelivery(db, deps.ctx.config.publicUrl, d, 'person', deps.ctx.clock.now());
        if (!loaded.ok) return { kind: 'skip', reason: loaded.reason };
        const until = quietUntil(deps.ctx.clock.now(), person.timezone, person.quietStart, person.quietEnd);
        if (until) return person.quietToDigest ? { kind: 'digest' } : { kind: 'hold', until };
        message = loaded.message;
      } else {
        const parsed = storedMessage.safeParse(d.payload);
        if (!parsed.success) return { kind: 'fail', reason: `no message in a ${d.event} delivery` };
        message = parsed.data.message as unknown as OutboundMessage;
        if (message.kind === 'direct') {
          if (person.switchedOff) return { kind: 'skip', reason: 'switched off' };
          const until = quietUntil(deps.ctx.clock.now(), person.timezone, person.quietStart, person.quietEnd);
          if (until) return { kind: 'hold', until };
        }
      }
      return reachPerson(db, deps.messengers, person, message);
    },
  };
}
