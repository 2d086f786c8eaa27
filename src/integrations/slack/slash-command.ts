import type { App } from '@slack/bolt';
import { replyMessage } from './blocks.js';
import type { SlackDeps } from './deps.js';
import { runSlackCommand } from './run-command.js';
import { SLASH_COMMAND } from './scopes.js';

/**
 * Slack wants the slash command's HTTP answer within 3 seconds, network included. A command that
 * finishes within `ackBudgetMs` answers in the ack itself; a slower one is acked empty (Slack then shows
 * nothing) and its reply goes to the response_url, which stays valid for 30 minutes.
 * The default is 0: ack at once, then reply. Waiting for the command made the acknowledgement queue
 * behind the database under load (p99 about 1 s at a 2 s budget, 84 ms at 0: docs/benchmarks.md).
 */
export function registerSlashCommand(app: App, deps: SlackDeps, ackBudgetMs = 0): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond }) => {
    const work = runSlackCommand(deps, {
      teamId: command.team_id,
      enterpriseId: command.enterprise_id,
      userId: command.user_id,
      channelId: command.channel_id,
      channelName: command.channel_name,
      text: command.text ?? '',
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ackBudgetMs);
    });
    const first = ackBudgetMs > 0 ? await Promise.race([work, late]) : 'late';
    clearTimeout(timer);
    if (first !== 'late') {
      await ack({ response_type: 'ephemeral', ...replyMessage(first) });
      return;
    }
    await ack();
    const reply = await work;
    await respond({ response_type: 'ephemeral', ...replyMessage(reply) });
  });
}
