import type { App, BlockButtonAction } from '@slack/bolt';
import { decideFollowRequest } from '../../app/follows.js';
import { DomainError, describeError } from '../../core/errors.js';
import { sentenceMessage, slackText } from './blocks.js';
import type { SlackDeps } from './deps.js';
import { ACTION_APPROVE, ACTION_DENY } from './scopes.js';

/** The Approve / Deny buttons of a follow request. The requester hears the outcome from the core. */
export function registerActions(app: App, deps: SlackDeps): void {
  const { ctx, directory, log } = deps;
  for (const [actionId, decision] of [
    [ACTION_APPROVE, 'approve'],
    [ACTION_DENY, 'deny'],
  ] as const) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const teamId = body.team?.id ?? body.user.team_id;
      if (!teamId) return;
      const show = async (text: string, replace: boolean) => {
        const message = sentenceMessage(text);
        if (!replace) {
          await respond({ response_type: 'ephemeral', replace_original: false, text: slackText(text) });
        } else if (body.response_url) {
          await respond({ replace_original: true, ...message });
        } else if (body.channel?.id && body.message?.ts) {
          await client.chat.update({ channel: body.channel.id, ts: body.message.ts, ...message });
        }
      };
      try {
        const actor = await directory.actor({ teamId, userId: body.user.id, enterpriseId: body.enterprise?.id });
        const r = await decideFollowRequest(ctx, { actor: { id: actor.id, isAdmin: actor.isAdmin }, followId: action.value ?? '', decision, via: 'slack' });
        const verb = decision === 'approve' ? 'approved' : 'denied';
        const text = r.changed
          ? `You ${verb} ${r.requester}'s request to follow @${r.source.handle}.`
          : `${r.requester}'s request to follow @${r.source.handle} was already decided.`;
        await show(text, true);
      } catch (err) {
        if (err instanceof DomainError) {
          // A request that is gone (denied elsewhere) loses its buttons; a refusal leaves them for the owners.
          await show(describeError(err), err.code === 'not_found');
          return;
        }
        log.error({ err, team: teamId, user: body.user.id }, 'follow request decision failed');
        await show('Something went wrong on our side; please try again in a minute.', false);
      }
    });
  }
}
