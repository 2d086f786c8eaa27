import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import { eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { slackInstallations } from '../../db/schema.js';

/** Row id: an org-wide (Enterprise Grid) install is keyed by the enterprise, any other by the workspace. */
export function installationKey(q: { teamId?: string | undefined; enterpriseId?: string | undefined; isEnterpriseInstall?: boolean | undefined }): string | null {
  if (q.isEnterpriseInstall && q.enterpriseId) return `E:${q.enterpriseId}`;
  if (q.teamId) return `T:${q.teamId}`;
  return null;
}

export class InstallationNotFoundError extends Error {
  constructor(key: string | null) {
    super(`No Slack installation for ${key ?? '(no team)'}`);
    this.name = 'InstallationNotFoundError';
  }
}

/** Bolt's OAuth installation store, one row per workspace or org in `slack_installations`. */
export class DbInstallationStore implements InstallationStore {
  constructor(private readonly db: DbOrTx) {}

  async storeInstallation<AuthVersion extends 'v1' | 'v2'>(installation: Installation<AuthVersion, boolean>): Promise<void> {
    const key = installationKey({
      teamId: installation.team?.id,
      enterpriseId: installation.enterprise?.id,
      isEnterpriseInstall: installation.isEnterpriseInstall,
    });
    if (!key) throw new Error('A Slack installation without a team or enterprise id cannot be stored');
    const data = JSON.parse(JSON.stringify(installation)) as Record<string, unknown>;
    const now = new Date();
    await this.db
      .insert(slackInstallations)
      .values({ id: key, data, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: slackInstallations.id, set: { data, updatedAt: now } });
  }

  fetchInstallation = async (query: InstallationQuery<boolean>): Promise<Installation<'v1' | 'v2', boolean>> => {
    const keys = candidateKeys(query);
    if (keys.length) {
      const rows = await this.db.select().from(slackInstallations).where(inArray(slackInstallations.id, keys));
      // Prefer the exact workspace install over an org-wide one covering it.
      for (const k of keys) {
        const row = rows.find((r) => r.id === k);
        if (row) return row.data as unknown as Installation<'v1' | 'v2', boolean>;
      }
    }
    throw new InstallationNotFoundError(keys[0] ?? null);
  };

  deleteInstallation = async (query: InstallationQuery<boolean>): Promise<void> => {
    const key = installationKey(query);
    if (key) await this.db.delete(slackInstallations).where(eq(slackInstallations.id, key));
  };
}

function candidateKeys(q: InstallationQuery<boolean>): string[] {
  const keys: string[] = [];
  if (q.isEnterpriseInstall && q.enterpriseId) keys.push(`E:${q.enterpriseId}`);
  if (q.teamId) keys.push(`T:${q.teamId}`);
  if (!q.isEnterpriseInstall && q.enterpriseId) keys.push(`E:${q.enterpriseId}`);
  return keys;
}
