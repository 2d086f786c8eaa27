import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { findIdentity, linkIdentity, type SourceRow } from '../../app/people.js';
import { DomainError } from '../../core/errors.js';
import type { BotTokens } from './tokens.js';

/** The parts of users.info we read (https://docs.slack.dev/reference/methods/users.info). */
const slackUser = z.object({
  id: z.string(),
  name: z.string().optional(),
  real_name: z.string().optional(),
  tz: z.string().optional(),
  is_bot: z.boolean().optional(),
  deleted: z.boolean().optional(),
  is_email_confirmed: z.boolean().optional(),
  is_stranger: z.boolean().optional(),
  profile: z
    .object({
      email: z.string().optional(),
      real_name: z.string().optional(),
      display_name: z.string().optional(),
    })
    .optional(),
});

export interface SlackUserRef {
  teamId: string;
  userId: string;
  enterpriseId?: string | undefined;
}

/**
 * Slack users as Twitterprise people. The first sight of a user costs one users.info call (name,
 * time zone, email: the email is what joins a Slack user to the same person on Teams); after that the
 * identities table answers.
 */
export class SlackDirectory {
  constructor(
    private readonly ctx: AppContext,
    private readonly tokens: BotTokens,
    private readonly client: webApi.WebClient,
  ) {}

  /** The person who is talking to the app; records that they last spoke to it on Slack. */
  async actor(ref: SlackUserRef, data?: { dmChannel?: string }): Promise<SourceRow> {
    const found = await findIdentity(this.ctx, 'slack', ref.teamId, ref.userId);
    if (found) {
      const staleDm = data?.dmChannel && found.identity.data.dmChannel !== data.dmChannel;
      if (found.person.lastPlatform === 'slack' && !staleDm) return found.person;
      return linkIdentity(this.ctx, {
        platform: 'slack',
        tenant: ref.teamId,
        externalId: ref.userId,
        name: found.person.name,
        ...(staleDm ? { data: { dmChannel: data.dmChannel } } : {}),
      });
    }
    const user = await this.lookUp(ref);
    if (!user) throw new DomainError('forbidden', 'Twitterprise is for people; this Slack account is a bot or deactivated.');
    return linkIdentity(this.ctx, this.identityInput(ref, user, data));
  }

  /**
   * The person behind a mention. Unlike `actor`, it must not change where they last spoke to the
   * app (their DMs keep going where they use it), so a person found by email keeps their last platform.
   * Null for bots and deactivated accounts.
   */
  async person(ref: SlackUserRef): Promise<SourceRow | null> {
    const found = await findIdentity(this.ctx, 'slack', ref.teamId, ref.userId);
    if (found) return found.person;
    const user = await this.lookUp(ref);
    if (!user) return null;
    return linkIdentity(this.ctx, { ...this.identityInput(ref, user), touch: false });
  }

  /** `@handle` for each mentioned Slack user id that is a person. */
  async handlesFor(teamId: string, userIds: string[], enterpriseId?: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const userId of userIds) {
      const p = await this.person({ teamId, userId, enterpriseId });
      if (p) out.set(userId, p.handle);
    }
    return out;
  }

  private identityInput(ref: SlackUserRef, user: z.infer<typeof slackUser>, data?: { dmChannel?: string }) {
    const name = user.real_name || user.profile?.real_name || user.profile?.display_name || user.name || ref.userId;
    return {
      platform: 'slack' as const,
      tenant: ref.teamId,
      externalId: ref.userId,
      email: verifiedEmail(user),
      name,
      timezone: user.tz ?? null,
      data: { ...(ref.enterpriseId ? { enterpriseId: ref.enterpriseId } : {}), ...(data?.dmChannel ? { dmChannel: data.dmChannel } : {}) },
    };
  }

  private async lookUp(ref: SlackUserRef): Promise<z.infer<typeof slackUser> | null> {
    const token = await this.tokens.forTeam(ref.teamId, ref.enterpriseId);
    if (!token) throw new Error(`Twitterprise is not installed in Slack workspace ${ref.teamId}`);
    const res = await this.client.users.info({ token, user: ref.userId });
    const user = slackUser.parse(res.user);
    if (user.is_bot || user.deleted || user.id === 'USLACKBOT') return null;
    return user;
  }
}

/**
 * The email that may join this account to a person (SPEC: identities with the same verified email are the
 * same person): only one Slack says the person confirmed, and never a Slack Connect user's from another
 * organisation. Anything else would let whoever controls a profile field become someone else here.
 */
function verifiedEmail(user: z.infer<typeof slackUser>): string | null {
  if (user.is_email_confirmed !== true || user.is_stranger) return null;
  return user.profile?.email ?? null;
}
