import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type InvokeResponse, type TurnContext } from 'botbuilder';
import type { Config } from '../../config.js';

/**
 * Where Bot Framework tokens are checked against, and how outbound calls get theirs. Microsoft's public
 * cloud unless overridden; tests point it at a fake OpenID issuer on 127.0.0.1 and give outbound calls a
 * fixed token (no configuration variable: production never changes these).
 */
/** botbuilder's ServiceClientCredentialsFactory (from botframework-connector, which we do not depend on directly). */
export type CredentialsFactory = NonNullable<ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[1]>;

export interface TeamsAuthOverrides {
  /** The OpenID metadata document of the channel's token issuer (and of the emulator's). */
  openIdMetadataUrl: string;
  /** Credentials for outbound calls (instead of MSAL against login.microsoftonline.com). */
  credentialsFactory?: CredentialsFactory;
}

type AuthResult = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>>;

/**
 * CloudAdapter that runs a turn for a request we already authenticated (inbound.ts), instead of
 * `process`, which would re-read the raw body and print any error with console.error.
 */
export class TeamsCloudAdapter extends CloudAdapter {
  runAuthenticated(auth: AuthResult, activity: Activity, logic: (turn: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(auth, activity, logic);
  }
}

/**
 * botbuilder's CloudAdapter with our MICROSOFT_APP_* settings. With an empty app id, authentication
 * is off both ways: inbound activities need no JWT and outbound calls carry no token (local use only).
 */
export function createTeamsAdapter(
  teams: Config['teams'],
  overrides?: TeamsAuthOverrides,
): { adapter: TeamsCloudAdapter; auth: ConfigurationBotFrameworkAuthentication; appId: string; authDisabled: boolean } {
  const appId = teams.appId ?? '';
  const settings = {
    MicrosoftAppId: appId,
    MicrosoftAppPassword: teams.appPassword ?? '',
    MicrosoftAppType: teams.appType,
    MicrosoftAppTenantId: teams.tenantId ?? '',
    // Every "parameterized" value must then be given (BotFrameworkAuthenticationFactory): the public cloud's, but the metadata.
    ...(overrides
      ? {
          ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
          ToChannelFromBotOAuthScope: 'https://api.botframework.com',
          ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
          OAuthUrl: 'https://api.botframework.com',
          ToBotFromChannelOpenIdMetadataUrl: overrides.openIdMetadataUrl,
          ToBotFromEmulatorOpenIdMetadataUrl: overrides.openIdMetadataUrl,
          CallerId: 'urn:botframework:azure',
          ValidateAuthority: true,
        }
      : {}),
  };
  const auth = new ConfigurationBotFrameworkAuthentication(settings, overrides?.credentialsFactory);
  return { adapter: new TeamsCloudAdapter(auth), auth, appId, authDisabled: appId === '' };
}
