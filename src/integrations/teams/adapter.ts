import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import type { Config } from '../../config.js';

/**
 * botbuilder's CloudAdapter with our MICROSOFT_APP_* settings. With an empty app id, authentication
 * is off both ways: inbound activities need no JWT and outbound calls carry no token (local use only).
 */
export function createTeamsAdapter(teams: Config['teams']): { adapter: CloudAdapter; appId: string; authDisabled: boolean } {
  const appId = teams.appId ?? '';
  const auth = new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: appId,
    MicrosoftAppPassword: teams.appPassword ?? '',
    MicrosoftAppType: teams.appType,
    MicrosoftAppTenantId: teams.tenantId ?? '',
  });
  return { adapter: new CloudAdapter(auth), appId, authDisabled: appId === '' };
}
