import type { InstallationStore } from '@slack/bolt';

/** Where the bot token for a workspace comes from: the one configured token, or the OAuth installation. */
export interface BotTokens {
  /** The bot token for a workspace, or null when the app is not installed there (any more). */
  forTeam(teamId: string, enterpriseId?: string): Promise<string | null>;
}

export function singleWorkspaceTokens(botToken: string): BotTokens {
  return { forTeam: async () => botToken };
}

export function installationTokens(store: InstallationStore): BotTokens {
  return {
    async forTeam(teamId, enterpriseId) {
      try {
        const inst = await store.fetchInstallation({ teamId, enterpriseId, isEnterpriseInstall: false });
        return inst.bot?.token ?? null;
      } catch {
        return null;
      }
    },
  };
}
