import { upsertChannel } from '../../app/channels.js';
import { executeCommand } from '../../app/commands/execute.js';
import { DomainError, describeError } from '../../core/errors.js';
import { normalizeInputText } from '../../core/input-text.js';
import type { Reply } from '../../core/types.js';
import type { SlackDeps } from './deps.js';
import { toPlainText, userMentionIds } from './text.js';

export interface SlackCommandInput {
  teamId: string;
  enterpriseId?: string | undefined;
  userId: string;
  /** Where it was typed: a channel (C…, G…) or a DM (D…). */
  channelId?: string | undefined;
  channelName?: string | undefined;
  text: string;
  /** Set when typed in the app's DM: remembered so later DMs skip conversations.open. */
  dmChannel?: string | undefined;
}

/** Public (C) and private (G) channels; D is a DM, where `channel ...` commands make no sense. */
const isChannel = (id: string | undefined): id is string => !!id && /^[CG]/.test(id);

/**
 * One command from Slack through the shared grammar. Mentions become `@handle` first (the grammar
 * knows no Slack ids). Never throws: mistakes and failures come back as the sentence to show.
 */
export async function runSlackCommand(deps: SlackDeps, input: SlackCommandInput): Promise<Reply> {
  const { ctx, directory, log } = deps;
  try {
    const actor = await directory.actor(
      { teamId: input.teamId, userId: input.userId, enterpriseId: input.enterpriseId },
      input.dmChannel ? { dmChannel: input.dmChannel } : undefined,
    );
    const handles = await directory.handlesFor(input.teamId, userMentionIds(input.text), input.enterpriseId);
    // The one normalisation, before this adapter decides anything (the `channel` check below) and before the parser.
    const text = normalizeInputText(toPlainText(input.text, handles));
    let channelId: string | undefined;
    if (isChannel(input.channelId) && /^channel\b/i.test(text)) {
      const row = await upsertChannel(ctx, {
        platform: 'slack',
        tenant: input.teamId,
        externalId: input.channelId,
        name: input.channelName && !['privategroup', 'directmessage'].includes(input.channelName) ? input.channelName : null,
      });
      channelId = row.id;
    }
    return await executeCommand(ctx, { actor, platform: 'slack', ...(channelId ? { channelId } : {}), text });
  } catch (err) {
    if (err instanceof DomainError) return { text: describeError(err) };
    log.error({ err, team: input.teamId, user: input.userId }, 'slack command failed');
    return { text: 'Something went wrong on our side; please try again in a minute.' };
  }
}
