import { TeamsInfo, type TeamsChannelAccount, type TurnContext } from 'botbuilder';
import { and, eq, sql } from 'drizzle-orm';
import type { AppContext } from '../../app/context.js';
import { findIdentity, linkIdentity, type IdentityInput, type SourceRow } from '../../app/people.js';
import { DomainError } from '../../core/errors.js';
import type { IdentityAddress } from '../../pipeline/messenger.js';
import { identities, sources } from '../../db/schema.js';
import { referenceFor, scopeOf, type TeamsActivity } from './activity.js';
import { statusOf } from './send-outcome.js';

/** What a Teams identity keeps in `identities.data` to reach the person later. */
export interface TeamsIdentityData {
  /** The Bot Framework user id (`29:...`), needed to open a 1:1 chat. */
  userId: string;
  serviceUrl: string;
  /** The bot's own id in that tenant (`28:<app id>`). */
  botId: string;
  /** Their personal chat with the bot, once there is one. */
  conversationReference?: Record<string, unknown>;
}

/**
 * Teams users as Twitterprise people. The first sight of a user costs one member lookup (the Bot
 * Connector's GET .../members/{id}, via TeamsInfo.getMember): it gives the AAD object id and the email,
 * and the email is what joins a Teams user to the same person on Slack. After that the identities table answers.
 */
export class TeamsDirectory {
  constructor(private readonly ctx: AppContext) {}

  /** The person talking to the app; records that they last spoke to it on Teams, and how to reach them. */
  async actor(turn: TurnContext, a: TeamsActivity, tenant: string): Promise<SourceRow> {
    const personal = scopeOf(a) === 'personal';
    const data: TeamsIdentityData = {
      userId: a.from.id,
      serviceUrl: a.serviceUrl,
      botId: a.recipient.id,
      ...(personal ? { conversationReference: referenceFor(a) as Record<string, unknown> } : {}),
    };
    const timezone = a.localTimezone ?? null;
    const found = a.from.aadObjectId ? await findIdentity(this.ctx, 'teams', tenant, a.from.aadObjectId) : await this.byUserId(tenant, a.from.id);
    if (found) {
      const d = found.identity.data as Partial<TeamsIdentityData>;
      const storedConversation = (d.conversationReference as { conversation?: { id?: string } } | undefined)?.conversation?.id;
      const unchanged =
        found.person.lastPlatform === 'teams' &&
        d.userId === data.userId &&
        d.serviceUrl === data.serviceUrl &&
        d.botId === data.botId &&
        (!personal || storedConversation === a.conversation.id);
      if (unchanged) return found.person;
      return linkIdentity(this.ctx, { platform: 'teams', tenant, externalId: found.identity.externalId, name: found.person.name, timezone, data: { ...data } });
    }
    const member = await this.lookUp(turn, a.from.id);
    if (!member) throw new DomainError('forbidden', 'Teams did not let me look you up, so I cannot tell who you are. Please try again in a minute.');
    return linkIdentity(this.ctx, { ...this.identityInput(member, tenant, a.from.aadObjectId), timezone, data: { ...data } });
  }

  /**
   * The person behind a mention (`mentioned.id` is their `29:` user id). Unlike `actor` it must not change
   * where they last spoke to the app, so a person found by email keeps their last platform.
   * Null when Teams does not know them in this conversation.
   */
  async person(turn: TurnContext, tenant: string, userId: string, serviceUrl: string, botId: string): Promise<SourceRow | null> {
    const known = await this.byUserId(tenant, userId);
    if (known) return known.person;
    const member = await this.lookUp(turn, userId);
    if (!member) return null;
    const input = this.identityInput(member, tenant);
    const before = input.email
      ? (await this.ctx.db.select({ id: sources.id, lastPlatform: sources.lastPlatform }).from(sources).where(eq(sources.email, input.email.toLowerCase())).limit(1))[0]
      : undefined;
    const person = await linkIdentity(this.ctx, { ...input, data: { userId, serviceUrl, botId } satisfies TeamsIdentityData });
    if (before && before.id === person.id && before.lastPlatform !== person.lastPlatform) {
      const [restored] = await this.ctx.db.update(sources).set({ lastPlatform: before.lastPlatform }).where(eq(sources.id, person.id)).returning();
      return restored ?? person;
    }
    return person;
  }

  /** How to reach a person the bot has met on Teams (for private replies). */
  async addressOf(tenant: string, from: { id: string; aadObjectId?: string | undefined }): Promise<IdentityAddress | null> {
    const found = from.aadObjectId ? await findIdentity(this.ctx, 'teams', tenant, from.aadObjectId) : await this.byUserId(tenant, from.id);
    if (!found) return null;
    return { personId: found.person.id, platform: 'teams', tenant, externalId: found.identity.externalId, data: found.identity.data };
  }

  private async byUserId(tenant: string, userId: string) {
    const rows = await this.ctx.db
      .select({ identity: identities })
      .from(identities)
      .where(and(eq(identities.platform, 'teams'), eq(identities.tenant, tenant), sql`${identities.data}->>'userId' = ${userId}`))
      .limit(1);
    const identity = rows[0]?.identity;
    return identity ? findIdentity(this.ctx, 'teams', tenant, identity.externalId) : null;
  }

  private identityInput(m: TeamsChannelAccount, tenant: string, aadFallback?: string): IdentityInput {
    const externalId = m.aadObjectId ?? aadFallback;
    if (!externalId) throw new Error('Teams member without an AAD object id');
    const email = verifiedEmail(m);
    return { platform: 'teams', tenant, externalId, email, name: m.name || [m.givenName, m.surname].filter(Boolean).join(' ') || email || 'Teams user' };
  }

  /** TeamsInfo.getMember; null when Teams says the member is not in this conversation or team. */
  private async lookUp(turn: TurnContext, userId: string): Promise<TeamsChannelAccount | null> {
    try {
      return await TeamsInfo.getMember(turn, userId);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * The email that may join this account to a person (SPEC: identities with the same verified email are the
 * same person). Entra ID lets a user sign in with a UPN only on a domain the tenant has verified, while the
 * mail attribute is whatever an admin typed. So: the mail address when it is on the UPN's domain, else the
 * UPN; nothing for a guest, whose UPN (`jane_example.com#EXT#@tenant.onmicrosoft.com`) is no mailbox and
 * whose mail the inviting tenant set.
 */
function verifiedEmail(m: TeamsChannelAccount): string | null {
  const upn = m.userPrincipalName;
  if (!upn || /#EXT#/i.test(upn) || !upn.includes('@')) return null;
  if (m.email && m.email.includes('@') && domainOf(m.email) === domainOf(upn)) return m.email;
  return upn;
}
