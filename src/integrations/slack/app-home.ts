import type { App } from '@slack/bolt';
import type { SlackDeps } from './deps.js';
import { homeView } from './home.js';

/** app_home_opened fires for the Home and Messages tabs; the Home tab is redrawn each time it opens. */
export function registerAppHome(app: App, deps: SlackDeps): void {
  app.event('app_home_opened', async ({ event, body, client }) => {
    if (event.tab !== 'home') return;
    const teamId = (body as { team_id?: string }).team_id;
    if (!teamId) return;
    const person = await deps.directory.person({ teamId, userId: event.user });
    if (!person) return;
    await client.views.publish({ user_id: event.user, view: await homeView(deps.ctx, person) });
  });
}
