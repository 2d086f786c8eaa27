import { desc, eq } from 'drizzle-orm';
import type { OutboundMessage } from '../../core/messages.js';
import type { ChatPlatform, DmPreference } from '../../core/types.js';
import type { DbOrTx } from '../../db/client.js';
import { identities } from '../../db/schema.js';
import type { DeliveryOutcome } from '../channel.js';
import type { IdentityAddress, MessageRef, Messengers, SendOutcome } from '../messenger.js';

type IdentityRow = typeof identities.$inferSelect;

export interface PersonForDm {
  id: string;
  dmPreference: DmPreference;
  lastPlatform: ChatPlatform | null;
}

const label: Record<ChatPlatform, string> = { slack: 'Slack', teams: 'Teams' };

/**
 * Which of a person's identities a DM goes to: `both` -> one per platform; `slack`/`teams` -> that one
 * (or the other when they have only that); `last` -> where they last spoke to the app. Among several
 * accounts on one platform, the most recently seen.
 */
export function pickIdentities(person: PersonForDm, ids: readonly IdentityRow[]): IdentityRow[] {
  const newest = (p: ChatPlatform) => ids.filter((i) => i.platform === p).sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())[0];
  const slack = newest('slack');
  const teams = newest('teams');
  const one = (first: IdentityRow | undefined, second: IdentityRow | undefined) => (first ? [first] : second ? [second] : []);
  switch (person.dmPreference) {
    case 'both':
      return [slack, teams].filter((i): i is IdentityRow => !!i);
    case 'slack':
      return one(slack, teams);
    case 'teams':
      return one(teams, slack);
    case 'last': {
      if (person.lastPlatform === 'teams') return one(teams, slack);
      if (person.lastPlatform === 'slack') return one(slack, teams);
      const latest = [slack, teams].filter((i): i is IdentityRow => !!i).sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime())[0];
      return latest ? [latest] : [];
    }
  }
}

export const addressOf = (i: IdentityRow): IdentityAddress => ({
  personId: i.personId,
  platform: i.platform,
  tenant: i.tenant,
  externalId: i.externalId,
  data: i.data,
});

/** Sends one message to a person's DM(s) and sums the platforms' answers into one outcome. */
export async function reachPerson(db: DbOrTx, messengers: Messengers, person: PersonForDm, message: OutboundMessage): Promise<DeliveryOutcome> {
  const all = await db.select().from(identities).where(eq(identities.personId, person.id)).orderBy(desc(identities.updatedAt));
  if (!all.length) return { kind: 'skip', reason: 'no Slack or Teams account linked' };
  const reachable = all.filter((i) => messengers[i.platform]);
  if (!reachable.length) {
    const platforms = [...new Set(all.map((i) => label[i.platform]))].join(' or ');
    return { kind: 'skip', reason: `${platforms} is not configured on this server` };
  }
  const targets = pickIdentities(person, reachable);
  const outcomes: SendOutcome[] = [];
  for (const t of targets) outcomes.push(await messengers[t.platform]!.sendToPerson(addressOf(t), message));
  const refs = outcomes.flatMap((o) => (o.kind === 'sent' && o.ref ? [o.ref] : [])) as MessageRef[];
  // Sent anywhere counts as sent: retrying would repeat the message where it already landed.
  if (outcomes.some((o) => o.kind === 'sent')) return { kind: 'sent', refs };
  const retry = outcomes.find((o): o is Extract<SendOutcome, { kind: 'retry' }> => o.kind === 'retry');
  if (retry) return retry.retryAfterMs !== undefined ? { kind: 'retry', error: retry.error, retryAfterMs: retry.retryAfterMs } : { kind: 'retry', error: retry.error };
  const fail = outcomes.find((o): o is Extract<SendOutcome, { kind: 'fail' }> => o.kind === 'fail');
  if (fail) return { kind: 'fail', reason: fail.reason };
  const reasons = outcomes.map((o) => (o.kind === 'skip' ? o.reason : '')).filter(Boolean);
  return { kind: 'skip', reason: reasons.join('; ') || 'no reachable chat account' };
}

/** A messenger's answer for one channel post as a delivery outcome. */
export function outcomeOfSend(o: SendOutcome): DeliveryOutcome {
  switch (o.kind) {
    case 'sent':
      return { kind: 'sent', refs: o.ref ? [o.ref] : [] };
    case 'retry':
      return o.retryAfterMs !== undefined ? { kind: 'retry', error: o.error, retryAfterMs: o.retryAfterMs } : { kind: 'retry', error: o.error };
    case 'skip':
      return { kind: 'skip', reason: o.reason };
    case 'fail':
      return { kind: 'fail', reason: o.reason };
  }
}

/** Chat sends: a few quick retries (Teams asks for backoff on 412/502/504), then failed. */
export const chatRetry = {
  maxAttempts: 5,
  backoffMs: (attempt: number) => Math.min(2000 * 4 ** (attempt - 1), 5 * 60_000),
};
