import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { AppContext } from '../../../src/app/context.js';
import { createTeamsIntegration, type TeamsIntegration } from '../../../src/integrations/teams/index.js';
import type { FakeBotConnector, FakeMember } from '../../fakes/bot-connector.js';

/**
 * Bot Framework activities as Microsoft Teams sends them to `POST /api/messages`
 * (shapes from https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/conversation-messages),
 * for the Teams tests and the cross-platform end-to-end scenarios.
 */

export type Activity = Record<string, unknown>;

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const BOT = { id: '28:9f3b2c1a-0000-4000-8000-00000000b07', name: 'Twitterprise' };

let seq = 1_700_000_000_000;
/** Teams message ids are millisecond timestamps. */
export const nextMessageId = () => String(++seq);

export interface TeamsUser {
  /** Bot Framework user id (`29:...`). */
  id: string;
  aadObjectId: string;
  name: string;
  email: string;
}

/** A Teams user, also registered with the fake connector so that member lookups find them. */
export function teamsUser(connector: FakeBotConnector | null, name: string, email: string, tenantId = TENANT): TeamsUser {
  const u: TeamsUser = { id: `29:1${randomUUID().replace(/-/g, '')}`, aadObjectId: randomUUID(), name, email };
  if (connector) connector.addMember({ ...u, tenantId, userPrincipalName: email } satisfies FakeMember);
  return u;
}

export const mentionText = (who: { name: string }) => `<at>${who.name}</at>`;

export function mentionEntity(who: { id: string; name: string }) {
  return { type: 'mention', mentioned: { id: who.id, name: who.name }, text: mentionText(who) };
}

const clientInfo = { type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Berlin' };

interface Common {
  serviceUrl: string;
  tenantId?: string;
  from: TeamsUser;
  id?: string;
}

function base(o: Common) {
  return {
    id: o.id ?? nextMessageId(),
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    localTimezone: 'Europe/Berlin',
    serviceUrl: o.serviceUrl,
    channelId: 'msteams',
    from: { id: o.from.id, name: o.from.name, aadObjectId: o.from.aadObjectId },
    recipient: { ...BOT },
    locale: 'en-US',
  };
}

/** The 1:1 chat between a user and the bot has one stable id per user. */
export const personalConversationId = (user: TeamsUser) => `a:1${user.aadObjectId.replace(/-/g, '')}`;

export function personalMessage(o: Common & { text?: string; conversationId?: string; value?: unknown; replyToId?: string; mentions?: { id: string; name: string }[] }): Activity {
  const tenantId = o.tenantId ?? TENANT;
  return {
    ...base(o),
    type: 'message',
    textFormat: 'plain',
    ...(o.text !== undefined ? { text: o.text } : {}),
    ...(o.value !== undefined ? { value: o.value } : {}),
    ...(o.replyToId ? { replyToId: o.replyToId } : {}),
    conversation: { conversationType: 'personal', tenantId, id: o.conversationId ?? personalConversationId(o.from) },
    entities: [...(o.mentions ?? []).map(mentionEntity), clientInfo],
    channelData: { tenant: { id: tenantId } },
  };
}

export interface ChannelWhere {
  teamId: string;
  teamName?: string;
  /** `19:...@thread.tacv2`; the General channel's id is the team id. */
  channelId: string;
  channelName?: string;
}

/**
 * A channel post. `mentionBot` puts `<at>Twitterprise</at>` first, as the compose box does.
 * `threadId` makes it a reply in that thread; otherwise it starts a new thread (`;messageid=` = its own id).
 */
export function channelMessage(
  o: Common & ChannelWhere & { text: string; mentionBot?: boolean; mentions?: { id: string; name: string }[]; threadId?: string },
): Activity {
  const tenantId = o.tenantId ?? TENANT;
  const b = base(o);
  const text = o.mentionBot ? `${mentionText(BOT)} ${o.text}` : o.text;
  const mentions = [...(o.mentionBot ? [BOT] : []), ...(o.mentions ?? [])];
  return {
    ...b,
    type: 'message',
    textFormat: 'plain',
    text,
    ...(o.threadId ? { replyToId: o.threadId } : {}),
    conversation: { isGroup: true, conversationType: 'channel', tenantId, id: `${o.channelId};messageid=${o.threadId ?? b.id}` },
    entities: [...mentions.map(mentionEntity), clientInfo],
    channelData: {
      teamsChannelId: o.channelId,
      teamsTeamId: o.teamId,
      channel: { id: o.channelId, ...(o.channelName ? { name: o.channelName } : {}) },
      team: { id: o.teamId, ...(o.teamName ? { name: o.teamName } : {}) },
      tenant: { id: tenantId },
    },
  };
}

export function groupChatMessage(o: Common & { chatId: string; text: string; mentionBot?: boolean; mentions?: { id: string; name: string }[] }): Activity {
  const tenantId = o.tenantId ?? TENANT;
  const text = o.mentionBot ? `${mentionText(BOT)} ${o.text}` : o.text;
  const mentions = [...(o.mentionBot ? [BOT] : []), ...(o.mentions ?? [])];
  return {
    ...base(o),
    type: 'message',
    textFormat: 'plain',
    text,
    conversation: { isGroup: true, conversationType: 'groupChat', tenantId, id: o.chatId },
    entities: [...mentions.map(mentionEntity), clientInfo],
    channelData: { tenant: { id: tenantId } },
  };
}

/** The bot installed for a user: Teams opens the 1:1 chat and says the bot was added to it. */
export function personalInstall(o: Common & { conversationId?: string }): Activity {
  const tenantId = o.tenantId ?? TENANT;
  const { localTimezone: _tz, locale: _l, ...b } = base(o);
  return {
    ...b,
    id: `f:${randomUUID()}`,
    type: 'conversationUpdate',
    membersAdded: [{ id: BOT.id }],
    conversation: { conversationType: 'personal', tenantId, id: o.conversationId ?? personalConversationId(o.from) },
    channelData: { tenant: { id: tenantId } },
  };
}

/** The bot added to a team: the activity arrives in the General channel (whose id is the team id). */
export function teamInstall(o: Common & { teamId: string; teamName: string }): Activity {
  const tenantId = o.tenantId ?? TENANT;
  const { localTimezone: _tz, locale: _l, ...b } = base(o);
  return {
    ...b,
    id: `f:${randomUUID()}`,
    type: 'conversationUpdate',
    membersAdded: [{ id: BOT.id }],
    conversation: { isGroup: true, conversationType: 'channel', tenantId, id: o.teamId },
    channelData: { team: { id: o.teamId, name: o.teamName, aadGroupId: randomUUID() }, eventType: 'teamMemberAdded', tenant: { id: tenantId } },
  };
}

/** The bot removed from a team (uninstalled there): `teamMemberRemoved` with the bot among membersRemoved. */
export function teamUninstall(o: Common & { teamId: string; teamName: string }): Activity {
  const { membersAdded: _added, ...install } = teamInstall(o);
  const channelData = install.channelData as Record<string, unknown>;
  return { ...install, membersRemoved: [{ id: BOT.id }], channelData: { ...channelData, eventType: 'teamMemberRemoved' } };
}

/** An Action.Submit click on a card the bot sent: a message whose `value` is the button's data. */
export function cardSubmit(o: Common & { value: unknown; replyToId: string; conversationId?: string }): Activity {
  return personalMessage({ ...o, value: o.value, replyToId: o.replyToId });
}

/** An Action.Execute click (Universal Actions): an `adaptiveCard/action` invoke. */
export function cardInvoke(o: Common & { data: unknown; replyToId?: string; conversationId?: string }): Activity {
  const tenantId = o.tenantId ?? TENANT;
  return {
    ...base(o),
    type: 'invoke',
    name: 'adaptiveCard/action',
    ...(o.replyToId ? { replyToId: o.replyToId } : {}),
    value: { action: { type: 'Action.Execute', verb: 'decide', data: o.data }, trigger: 'manual' },
    conversation: { conversationType: 'personal', tenantId, id: o.conversationId ?? personalConversationId(o.from) },
    channelData: { tenant: { id: tenantId } },
  };
}

/** POSTs an activity to the bot as the Bot Framework service would (without a JWT: auth is off in tests). */
export async function postActivity(baseUrl: string, activity: Activity, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(activity),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: await res.text() };
}

export interface TeamsApp {
  baseUrl: string;
  integration: TeamsIntegration;
  close(): Promise<void>;
}

/** An express app with only the Teams integration mounted, on 127.0.0.1 and a free port. */
export async function startTeamsApp(ctx: AppContext, opts: Parameters<typeof createTeamsIntegration>[1] = {}): Promise<TeamsApp> {
  const app = express();
  const integration = createTeamsIntegration(ctx, opts);
  integration.mount!(app);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    integration,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
