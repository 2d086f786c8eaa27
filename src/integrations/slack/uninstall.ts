import type { App } from '@slack/bolt';
import type { SlackDeps } from './deps.js';

/**
 * app_uninstalled: the workspace removed the app; tokens_revoked: its bot token was revoked. Either
 * way the stored installation is useless, and deliveries there are skipped from now on.
 */
export function registerUninstall(app: App, deps: SlackDeps): void {
  const forget = async (body: unknown, why: string) => {
    const b = body as { team_id?: string; enterprise_id?: string; is_enterprise_install?: boolean };
    deps.log.info({ team: b.team_id, enterprise: b.enterprise_id }, `slack ${why}`);
    await deps.store?.deleteInstallation({
      teamId: b.team_id,
      enterpriseId: b.enterprise_id,
      isEnterpriseInstall: b.is_enterprise_install ?? false,
    });
  };
  app.event('app_uninstalled', async ({ body }) => forget(body, 'app uninstalled'));
  app.event('tokens_revoked', async ({ body, event }) => {
    if (event.tokens.bot?.length) await forget(body, 'bot token revoked');
  });
}
