import type { Logger } from '../../log.js';
import type { Messenger } from '../../pipeline/messenger.js';
import { outboundActivity } from './cards.js';
import type { TeamsSender } from './proactive.js';

/**
 * The delivery workers' way into Teams: every outbound message becomes an Adaptive Card sent
 * proactively to the person's 1:1 chat with the bot or to a channel, and deleted statuses are retracted.
 */
export function createTeamsMessenger(sender: TeamsSender, log: Logger): Messenger {
  const logged = <T extends { kind: string }>(what: string, outcome: T): T => {
    if (outcome.kind !== 'sent') log.info({ what, outcome }, 'teams send not done');
    return outcome;
  };
  return {
    platform: 'teams',
    async sendToPerson(to, message) {
      return logged('person', await sender.toPerson(to, outboundActivity(message)));
    },
    async sendToChannel(to, message) {
      return logged('channel', await sender.toChannel(to, outboundActivity(message)));
    },
    async retract(ref) {
      return logged('retract', await sender.retract(ref));
    },
  };
}
