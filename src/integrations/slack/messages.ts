import type { App } from '@slack/bolt';
import { z } from 'zod';
import { publishingServiceFor } from '../../app/channels.js';
import { postStatus } from '../../app/statuses.js';
import { DomainError, describeError } from '../../core/errors.js';
import { replyMessage, slackText } from './blocks.js';
import type { SlackDeps } from './deps.js';
import { claimEvent, releaseEvent } from '../../app/processed-events.js';
import { runSlackCommand } from './run-command.js';
import { toPlainText, userMentionIds } from './text.js';

/** The fields of a `message` event we act on (https://docs.slack.dev/reference/events/message). */
const messageEvent = z.object({
  type: z.literal('message'),
  subtype: z.string().optional(),
  channel: z.string(),
  channel_type: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().optional(),
  ts: z.string(),
  thread_ts: z.string().optional(),
  edited: z.unknown().optional(),
});
type MessageEvent = z.infer<typeof messageEvent>;

const envelope = z.object({
  event_id: z.string().optional(),
  team_id: z.string(),
  enterprise_id: z.string().nullish(),
});

/**
 * A person's own new message: not a bot's, not an edit, deletion, join or file share (those carry a
 * subtype), and not a reply in a thread (a reply has thread_ts different from its ts).
 */
export function isNewHumanMessage(e: MessageEvent): e is MessageEvent & { user: string; text: string } {
  if (e.subtype !== undefined || e.bot_id !== undefined || e.edited !== undefined) return false;
  if (!e.user || !e.text?.trim()) return false;
  return e.thread_ts === undefined || e.thread_ts === e.ts;
}

/** message.im: commands in the app's DM. message.channels / message.groups: `channel publish`. */
export function registerMessages(app: App, deps: SlackDeps): void {
  const { ctx, log, directory } = deps;

  app.event('message', async ({ event, body, context, say, client }) => {
    const parsed = messageEvent.safeParse(event);
    const env = envelope.safeParse(body);
    if (!parsed.success || !env.success) return;
    const e = parsed.data;
    if (!isNewHumanMessage(e) || e.user === context.botUserId) return;
    const teamId = env.data.team_id;
    const enterpriseId = env.data.enterprise_id ?? undefined;
    const eventId = env.data.event_id;

    if (e.channel_type === 'im') {
      if (eventId && !(await claimEvent(ctx.db, `slack:${eventId}`))) return;
      const reply = await runSlackCommand(deps, { teamId, enterpriseId, userId: e.user, text: e.text, dmChannel: e.channel });
      await say(replyMessage(reply));
      return;
    }
    if (e.channel_type !== 'channel' && e.channel_type !== 'group') return;

    const service = await publishingServiceFor(ctx, 'slack', teamId, e.channel);
    if (!service) return;
    if (eventId && !(await claimEvent(ctx.db, `slack:${eventId}`))) return;
    try {
      const author = await directory.person({ teamId, userId: e.user, enterpriseId });
      if (!author) return;
      const handles = await directory.handlesFor(teamId, userMentionIds(e.text), enterpriseId);
      const { created } = await postStatus(ctx, {
        sourceId: service.id,
        authorId: author.id,
        text: toPlainText(e.text, handles),
        platform: 'slack',
        // The message's own identity: a redelivered event can never make a second status.
        dedupeKey: `slack:${teamId}:${e.channel}:${e.ts}`,
      });
      log.debug({ team: teamId, channel: e.channel, ts: e.ts, service: service.handle, created }, 'channel message published');
    } catch (err) {
      if (err instanceof DomainError) {
        await client.chat.postEphemeral({
          channel: e.channel,
          user: e.user,
          text: slackText(`Not published as @${service.handle}: ${describeError(err)}`),
        });
        return;
      }
      if (eventId) await releaseEvent(ctx.db, `slack:${eventId}`);
      throw err;
    }
  });
}
