import { TurnContext, type Activity, type ConversationReference } from 'botbuilder';
import { z } from 'zod';

/**
 * What we read from Teams activities (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/conversation-basics).
 * Everything else in an activity is passed through untouched.
 */
const account = z.object({ id: z.string(), name: z.string().optional(), aadObjectId: z.string().optional(), role: z.string().optional() }).passthrough();

export const teamsActivity = z
  .object({
    type: z.string(),
    id: z.string().optional(),
    channelId: z.string(),
    serviceUrl: z.string(),
    text: z.string().optional(),
    replyToId: z.string().optional(),
    localTimezone: z.string().optional(),
    from: account,
    recipient: account,
    conversation: z
      .object({ id: z.string(), conversationType: z.string().optional(), tenantId: z.string().optional(), isGroup: z.boolean().optional(), name: z.string().optional() })
      .passthrough(),
    channelData: z
      .object({
        tenant: z.object({ id: z.string() }).partial().optional(),
        team: z.object({ id: z.string(), name: z.string().optional() }).passthrough().optional(),
        channel: z.object({ id: z.string(), name: z.string().optional() }).passthrough().optional(),
        eventType: z.string().optional(),
      })
      .passthrough()
      .optional(),
    entities: z.array(z.object({ type: z.string() }).passthrough()).optional(),
    membersAdded: z.array(account).optional(),
    membersRemoved: z.array(account).optional(),
    action: z.string().optional(),
    name: z.string().optional(),
    value: z.unknown().optional(),
  })
  .passthrough();

export type TeamsActivity = z.infer<typeof teamsActivity>;

export type Scope = 'personal' | 'channel' | 'groupChat';

export function tenantOf(a: TeamsActivity): string | undefined {
  return a.channelData?.tenant?.id ?? a.conversation.tenantId;
}

export function scopeOf(a: TeamsActivity): Scope {
  const t = a.conversation.conversationType;
  if (t === 'channel' || a.channelData?.channel || a.channelData?.team) return 'channel';
  if (t === 'groupChat' || a.conversation.isGroup) return 'groupChat';
  return 'personal';
}

/**
 * A channel message's conversation id carries the thread: `19:abc@thread.tacv2;messageid=1700000000000`.
 * The channel itself is the part before `;messageid=`; posting there starts a new thread.
 */
export function stripThread(conversationId: string): string {
  return conversationId.replace(/;messageid=\d+$/, '');
}

/** The id of the channel or group chat a message was written in. */
export function channelIdOf(a: TeamsActivity): string {
  return a.channelData?.channel?.id ?? stripThread(a.conversation.id);
}

/**
 * A new top-level post, not a reply: in a channel the thread id (`;messageid=`) is the id of its first
 * message; in a group chat every message is top-level.
 */
export function isTopLevel(a: TeamsActivity): boolean {
  const m = /;messageid=(\d+)$/.exec(a.conversation.id);
  if (!m) return !a.replyToId || scopeOf(a) === 'groupChat';
  return m[1] === a.id;
}

interface MentionEntity {
  type: 'mention';
  mentioned: { id: string; name?: string };
  text?: string;
}

const mentionEntity = z.object({ type: z.literal('mention'), mentioned: z.object({ id: z.string(), name: z.string().optional() }), text: z.string().optional() });

export function mentionsOf(a: TeamsActivity): MentionEntity[] {
  return (a.entities ?? []).flatMap((e) => {
    const r = mentionEntity.safeParse(e);
    return r.success ? [r.data] : [];
  });
}

export function mentionsBot(a: TeamsActivity): boolean {
  return mentionsOf(a).some((m) => m.mentioned.id === a.recipient.id);
}

/** The text with the bot's own `<at>Twitterprise</at>` removed (TurnContext.removeRecipientMention). */
export function textWithoutBotMention(a: TeamsActivity): string {
  return TurnContext.removeRecipientMention(a as unknown as Partial<Activity>) ?? a.text ?? '';
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/**
 * Teams sends message text with a few HTML remnants (`&nbsp;`, `&amp;`, sometimes `<p>`); statuses and
 * commands want plain text. `<at>` tags must be replaced before this runs.
 */
export function toPlainText(text: string): string {
  return text
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p>/gi, '\n')
    .replace(/<\/?[a-z][^>]*>/gi, '')
    .replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, e: string) => ENTITIES[e] ?? '')
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .trim();
}

/**
 * A conversation reference for later proactive sends: without the id of the message that carried it,
 * and for channels pointing at the channel itself (so a send starts a new post, not a reply in an old thread).
 */
export function referenceFor(a: TeamsActivity, conversationId = a.conversation.id): Partial<ConversationReference> {
  const ref = TurnContext.getConversationReference(a as unknown as Partial<Activity>);
  delete ref.activityId;
  return { ...ref, conversation: { ...ref.conversation!, id: conversationId } };
}
