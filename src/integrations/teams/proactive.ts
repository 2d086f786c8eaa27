import type { Activity, CloudAdapter, ConversationParameters, ConversationReference, TurnContext } from 'botbuilder';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { findIdentity, updateIdentityData } from '../../app/people.js';
import type { ChannelAddress, IdentityAddress, MessageRef, SendOutcome } from '../../pipeline/messenger.js';
import { outcomeOf, statusOf } from './send-outcome.js';

/** The Bot Connector audience in the public cloud (botframework-connector AuthenticationConstants.ToChannelFromBotOAuthScope). */
const PUBLIC_CLOUD_AUDIENCE = 'https://api.botframework.com';
const MSTEAMS = 'msteams';

const storedReference = z
  .object({ serviceUrl: z.string(), conversation: z.object({ id: z.string() }).passthrough() })
  .passthrough();

const identityData = z.object({
  conversationReference: storedReference.optional(),
  userId: z.string().optional(),
  serviceUrl: z.string().optional(),
  botId: z.string().optional(),
});

const channelData = z.object({ conversationReference: storedReference.optional() });

/** Where a Teams message landed, kept in `deliveries.refs` so a deleted status can be retracted. */
export const teamsMessageRef = z.object({
  platform: z.literal('teams'),
  serviceUrl: z.string(),
  conversationId: z.string(),
  activityId: z.string(),
});

/**
 * Proactive messages: into a stored conversation (`continueConversationAsync`), or into a new 1:1 chat
 * with a person we only know from a channel (`createConversationAsync`). Requests go to the stored
 * serviceUrl (`{serviceUrl}v3/conversations/...`).
 */
export class TeamsSender {
  constructor(
    private readonly ctx: AppContext,
    private readonly adapter: CloudAdapter,
    /** Empty when authentication is off; then outbound calls carry no token. */
    private readonly appId: string,
  ) {}

  /** Runs `send` inside a proactive turn. Errors are caught inside: CloudAdapter would hand them to onTurnError. */
  private async inConversation(reference: Partial<ConversationReference>, send: (turn: TurnContext) => Promise<SendOutcome>): Promise<SendOutcome> {
    let outcome: SendOutcome | undefined;
    try {
      await this.adapter.continueConversationAsync(this.appId, reference, async (turn) => {
        try {
          outcome = await send(turn);
        } catch (err) {
          outcome = outcomeOf(err);
        }
      });
    } catch (err) {
      return outcomeOf(err);
    }
    return outcome ?? { kind: 'retry', error: 'the proactive turn did not run' };
  }

  async toReference(reference: z.infer<typeof storedReference>, activity: Partial<Activity>): Promise<SendOutcome> {
    return this.inConversation({ channelId: MSTEAMS, ...reference } as unknown as Partial<ConversationReference>, async (turn) => {
      const res = await turn.sendActivity(activity);
      return sent(reference.serviceUrl, reference.conversation.id, res?.id);
    });
  }

  async toPerson(to: IdentityAddress, activity: Partial<Activity>): Promise<SendOutcome> {
    const parsed = identityData.safeParse(to.data);
    const d = parsed.success ? parsed.data : {};
    if (d.conversationReference) return this.toReference(d.conversationReference, activity);
    const botId = d.botId ?? (this.appId ? `28:${this.appId}` : undefined);
    if (!d.userId || !d.serviceUrl || !botId) return { kind: 'skip', reason: 'this person has never been seen on Teams by the bot' };
    return this.openChat(to, { userId: d.userId, serviceUrl: d.serviceUrl, botId }, activity);
  }

  async toChannel(to: ChannelAddress, activity: Partial<Activity>): Promise<SendOutcome> {
    const parsed = channelData.safeParse(to.data);
    const reference = parsed.success ? parsed.data.conversationReference : undefined;
    if (!reference) return { kind: 'skip', reason: 'no Teams conversation reference stored for this channel' };
    return this.toReference(reference, activity);
  }

  /** Deletes a message the bot sent (DELETE {serviceUrl}v3/conversations/{id}/activities/{activityId}). */
  async retract(ref: MessageRef): Promise<SendOutcome> {
    const r = teamsMessageRef.safeParse(ref);
    if (!r.success) return { kind: 'fail', reason: 'not a Teams message reference' };
    const { serviceUrl, conversationId, activityId } = r.data;
    return this.inConversation({ channelId: MSTEAMS, serviceUrl, conversation: { id: conversationId } } as Partial<ConversationReference>, async (turn) => {
      try {
        await turn.deleteActivity(activityId);
      } catch (err) {
        // Already deleted (by a person, or by an earlier attempt of this job).
        if (statusOf(err) === 404) return { kind: 'sent' };
        throw err;
      }
      return { kind: 'sent' };
    });
  }

  /**
   * A first 1:1 message to someone the bot knows only from a team or group chat. Teams answers 403 when
   * the app is not installed for them (or in a team they belong to).
   */
  private async openChat(to: IdentityAddress, who: { userId: string; serviceUrl: string; botId: string }, activity: Partial<Activity>): Promise<SendOutcome> {
    const params = {
      isGroup: false,
      bot: { id: who.botId, name: 'Twitterprise' },
      members: [{ id: who.userId, name: '' }],
      tenantId: to.tenant,
      channelData: { tenant: { id: to.tenant } },
    } as ConversationParameters;
    let outcome: SendOutcome | undefined;
    try {
      await this.adapter.createConversationAsync(this.appId, MSTEAMS, who.serviceUrl, PUBLIC_CLOUD_AUDIENCE, params, async (turn) => {
        try {
          const conversationId = turn.activity.conversation.id;
          const reference = {
            channelId: MSTEAMS,
            serviceUrl: who.serviceUrl,
            conversation: { id: conversationId, conversationType: 'personal', isGroup: false, tenantId: to.tenant },
            bot: { id: who.botId, name: 'Twitterprise' },
            user: { id: who.userId },
          };
          await this.remember(to, reference);
          const res = await turn.sendActivity(activity);
          outcome = sent(who.serviceUrl, conversationId, res?.id);
        } catch (err) {
          outcome = outcomeOf(err);
        }
      });
    } catch (err) {
      return outcomeOf(err);
    }
    return outcome ?? { kind: 'retry', error: 'the new conversation turn did not run' };
  }

  private async remember(to: IdentityAddress, conversationReference: Record<string, unknown>): Promise<void> {
    const found = await findIdentity(this.ctx, 'teams', to.tenant, to.externalId);
    if (found) await updateIdentityData(this.ctx.db, found.identity.id, { conversationReference });
  }
}

function sent(serviceUrl: string, conversationId: string, activityId: string | undefined): SendOutcome {
  if (!activityId) return { kind: 'sent' };
  return { kind: 'sent', ref: { platform: 'teams', serviceUrl, conversationId, activityId } };
}
