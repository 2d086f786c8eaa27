import { ActivityTypes, type Activity, type TurnContext } from 'botbuilder';
import { z } from 'zod';
import { publishingServiceFor, upsertChannel, type ChannelInput } from '../../app/channels.js';
import { SORRY, executeCommand } from '../../app/commands/execute.js';
import type { AppContext } from '../../app/context.js';
import { decideFollowRequest } from '../../app/follows.js';
import type { SourceRow } from '../../app/people.js';
import { postStatus } from '../../app/statuses.js';
import { commandOf } from '../../core/commands/usage.js';
import { DomainError, describeError } from '../../core/errors.js';
import { normalizeInputText } from '../../core/input-text.js';
import type { Logger } from '../../log.js';
import {
  channelIdOf,
  isTopLevel,
  mentionsBot,
  mentionsOf,
  referenceFor,
  scopeOf,
  teamsActivity,
  tenantOf,
  textWithoutBotMention,
  toPlainText,
  type TeamsActivity,
} from './activity.js';
import { ADAPTIVE_CARD, cardMessage, decidedCard, replyActivity, type AdaptiveCard } from './cards.js';
import type { TeamsDirectory } from './directory.js';
import type { TeamsSender } from './proactive.js';
import { claimEvent, releaseEvent } from '../../app/processed-events.js';
import { endChannels } from '../../app/channel-removed.js';

export interface TeamsBotDeps {
  ctx: AppContext;
  log: Logger;
  directory: TeamsDirectory;
  sender: TeamsSender;
}

/**
 * What a Teams message says, as every decision here and the shared parser see it: HTML remnants out,
 * then the one input normalisation (core/input-text.ts). Decide only on what this returns.
 */
const inputText = (text: string) => normalizeInputText(toPlainText(text));
const firstWord = (text: string) => (text.split(/\s+/, 1)[0] ?? '').toLowerCase();
/** A message that @mentions the bot in a `channel publish` channel is a command only when it starts with a command word. */
const startsWithCommandWord = (text: string) => commandOf(firstWord(text)) !== undefined;

export { SORRY };

const WELCOME_PERSONAL =
  'Hi, I am Twitterprise. Anything you write here that is not a command is posted as your status. ' +
  '"follow @handle" brings someone\'s statuses here, "off" pauses everything, and "help" lists every command.';
const WELCOME_CHANNEL =
  'Twitterprise was added here. Mention me with "channel follow @handle" to post a person\'s or a service\'s statuses ' +
  'in this channel, or "channel publish @service" to turn new posts here into statuses of that service. "help" lists every command.';

/** `data` of our Approve / Deny buttons (Action.Submit sends it as the message's `value`). */
const followDecision = z.object({ action: z.enum(['tp.approve', 'tp.deny']), followId: z.string().min(1) });
/** Universal Actions (Action.Execute) arrive as an `adaptiveCard/action` invoke with the data inside. */
const executeAction = z.object({ action: z.object({ data: followDecision }) });

/**
 * The bot's turn logic: personal chats, @mentions in channels and group chats, channel messages of
 * `channel publish` channels, card buttons, and installs (which store where the bot can write later).
 * Never lets an error reach the person as anything but a sentence.
 */
export function createTeamsBot(deps: TeamsBotDeps): (turn: TurnContext) => Promise<void> {
  const { log } = deps;
  return async (turn) => {
    const parsed = teamsActivity.safeParse(turn.activity);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.slice(0, 5), type: turn.activity?.type }, 'teams activity without the fields we need');
      return;
    }
    const a = parsed.data;
    const tenant = tenantOf(a);
    if (a.channelId !== 'msteams' || !tenant) {
      log.info({ channelId: a.channelId, type: a.type }, 'ignoring an activity from outside Microsoft Teams');
      return;
    }
    try {
      switch (a.type) {
        case ActivityTypes.Message:
          return await onMessage(deps, turn, a, tenant);
        case ActivityTypes.Invoke:
          return await onInvoke(deps, turn, a, tenant);
        case ActivityTypes.ConversationUpdate:
          return await onConversationUpdate(deps, turn, a, tenant);
        case ActivityTypes.InstallationUpdate:
          if (a.action?.startsWith('add')) await remember(deps, turn, a, tenant);
          return;
        default:
          return;
      }
    } catch (err) {
      if (err instanceof DomainError) {
        await say(turn, describeError(err));
        return;
      }
      log.error({ err, type: a.type, tenant, conversation: a.conversation.id }, 'teams turn failed');
      await say(turn, SORRY);
    }
  };
}

async function say(turn: TurnContext, text: string): Promise<void> {
  await turn.sendActivity(replyActivity({ text }));
}

async function onMessage(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string): Promise<void> {
  if (a.from.role === 'bot') return;
  const decision = followDecision.safeParse(a.value);
  if (decision.success) {
    const message = cardMessage(await decide(deps, turn, a, tenant, decision.data));
    // The button's message is the one the click replies to: replace it so the buttons go away.
    if (a.replyToId) await turn.updateActivity({ ...message, id: a.replyToId });
    else await turn.sendActivity(message);
    return;
  }

  const scope = scopeOf(a);
  const mentioned = mentionsBot(a);
  const raw = mentioned ? textWithoutBotMention(a) : (a.text ?? '');
  const addressed = scope === 'personal' || mentioned;
  // With RSC (ChannelMessage.Read.Group) every channel message arrives here: decide cheaply first.
  let service: SourceRow | null = null;
  if (scope !== 'personal' && isTopLevel(a) && !(mentioned && startsWithCommandWord(inputText(raw)))) {
    service = await publishingServiceFor(deps.ctx, 'teams', tenant, channelIdOf(a));
  }
  if (!service && !addressed) return;

  const key = a.id ? `teams:${tenant}:${a.conversation.id}:${a.id}` : undefined;
  if (key && !(await claimEvent(deps.ctx.db, key))) return;
  try {
    if (service) await publish(deps, turn, a, tenant, service, raw, key);
    else await command(deps, turn, a, tenant, raw);
  } catch (err) {
    if (key && !(err instanceof DomainError)) await releaseEvent(deps.ctx.db, key);
    throw err;
  }
}

/** `<at>Jane Doe</at>` -> `@jane-doe` for every mentioned Teams user other than the bot. */
async function withHandles(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string, text: string): Promise<string> {
  let out = text;
  for (const m of mentionsOf(a)) {
    if (m.mentioned.id === a.recipient.id || !m.text || !out.includes(m.text)) continue;
    let replacement = m.mentioned.name ?? '';
    try {
      const person = await deps.directory.person(turn, tenant, m.mentioned.id, a.serviceUrl, a.recipient.id);
      if (person) replacement = `@${person.handle}`;
    } catch (err) {
      // A tag, channel or team mention, or a lookup Teams refused: keep the name as written.
      deps.log.debug({ err, mentioned: m.mentioned.id }, 'teams mention not resolved');
    }
    out = out.split(m.text).join(replacement);
  }
  return out;
}

function channelInput(a: TeamsActivity, tenant: string): ChannelInput {
  const externalId = channelIdOf(a);
  const team = a.channelData?.team;
  // Teams names every channel but the General one, whose id is the team's id.
  const name = a.channelData?.channel?.name ?? (team && externalId === team.id && team.name ? `${team.name}: General` : a.conversation.name) ?? null;
  return {
    platform: 'teams',
    tenant,
    externalId,
    name,
    data: { conversationReference: referenceFor(a, externalId), ...(team ? { teamId: team.id } : {}) },
  };
}

async function command(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string, raw: string): Promise<void> {
  const { ctx } = deps;
  const actor = await deps.directory.actor(turn, a, tenant);
  const text = inputText(await withHandles(deps, turn, a, tenant, raw));
  if (!text) return say(turn, 'Write a command or a status. "help" lists every command.');
  const scope = scopeOf(a);
  const word = commandOf(firstWord(text));
  let channelId: string | undefined;
  if (scope !== 'personal') {
    // A token is shown once, to its owner: never in a channel everyone can read.
    if (word === 'token') return say(turn, 'For your safety, ask me for a token in our personal chat, not here.');
    if (word === 'channel') channelId = (await upsertChannel(ctx, channelInput(a, tenant))).id;
  }
  const reply = await executeCommand(ctx, { actor, platform: 'teams', ...(channelId ? { channelId } : {}), text });
  if (scope === 'personal' || word === 'channel' || word === 'help') {
    await turn.sendActivity(replyActivity(reply));
    return;
  }
  await tellPrivately(deps, turn, a, tenant, replyActivity(reply));
}

/** Said in the thread, without the answer, when the 1:1 chat cannot be reached. */
export const NOT_PRIVATE = 'I could not message you privately: open a chat with me (Apps, then Twitterprise) and ask again there.';

/**
 * Replies to commands are private (SPEC section 2): from a channel or group chat the answer goes to the
 * person's 1:1 chat with the bot. When Teams does not allow one (app not installed for them, the chat
 * cannot be created, the send fails), the answer is NOT posted in the thread instead: the thread only
 * hears that a private message was not possible.
 */
async function tellPrivately(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string, activity: Partial<Activity>): Promise<void> {
  const address = await deps.directory.addressOf(tenant, a.from);
  const outcome = address ? await deps.sender.toPerson(address, activity) : undefined;
  if (outcome?.kind === 'sent') return;
  deps.log.info({ outcome: outcome?.kind ?? 'no address', tenant }, 'teams private reply not possible: the thread is told so, without the answer');
  await say(turn, NOT_PRIVATE);
}

async function publish(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string, service: SourceRow, raw: string, key: string | undefined): Promise<void> {
  const author = await deps.directory.person(turn, tenant, a.from.id, a.serviceUrl, a.recipient.id);
  const text = inputText(await withHandles(deps, turn, a, tenant, raw));
  // A post with only an image or a file has nothing to publish.
  if (!text) return;
  try {
    await postStatus(deps.ctx, { sourceId: service.id, authorId: author?.id ?? null, text, platform: 'teams', ...(key ? { dedupeKey: key } : {}) });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    await tellPrivately(deps, turn, a, tenant, replyActivity({ text: `Your post was not published as @${service.handle}: ${describeError(err)}` }));
  }
}

/** Approve / Deny: the follow request is decided by whoever clicked, if they may (else a DomainError says why). */
async function decide(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string, data: z.infer<typeof followDecision>): Promise<AdaptiveCard> {
  const actor = await deps.directory.actor(turn, a, tenant);
  const decision = data.action === 'tp.approve' ? 'approve' : 'deny';
  const r = await decideFollowRequest(deps.ctx, { actor: { id: actor.id, isAdmin: actor.isAdmin }, followId: data.followId, decision, via: 'teams' });
  const outcome = !r.changed
    ? r.follow?.state === 'active'
      ? 'Already approved.'
      : 'Already decided.'
    : decision === 'approve'
      ? `Approved by @${actor.handle}.`
      : `Denied by @${actor.handle}.`;
  return decidedCard(r.requester, r.source.handle, outcome);
}

async function onInvoke(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string): Promise<void> {
  if (a.name !== 'adaptiveCard/action') return;
  const parsed = executeAction.safeParse(a.value);
  // The Universal Actions response: the card that replaces the clicked one, or a message (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/work-with-universal-actions-for-adaptive-cards).
  const respond = (body: Record<string, unknown>) => turn.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body } });
  if (!parsed.success) {
    await respond({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'Unknown card action.' } });
    return;
  }
  try {
    const card = await decide(deps, turn, a, tenant, parsed.data.action.data);
    await respond({ statusCode: 200, type: ADAPTIVE_CARD, value: card });
  } catch (err) {
    const text = err instanceof DomainError ? describeError(err) : SORRY;
    if (!(err instanceof DomainError)) deps.log.error({ err }, 'teams card action failed');
    await respond({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text });
  }
}

async function onConversationUpdate(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string): Promise<void> {
  const botAdded = (a.membersAdded ?? []).some((m) => m.id === a.recipient.id);
  if (botAdded) {
    await remember(deps, turn, a, tenant);
    await say(turn, scopeOf(a) === 'personal' ? WELCOME_PERSONAL : WELCOME_CHANNEL);
    return;
  }
  const event = a.channelData?.eventType;
  if ((event === 'channelCreated' || event === 'channelRenamed') && a.channelData?.channel) {
    await upsertChannel(deps.ctx, channelInput(a, tenant));
    return;
  }
  // The bot taken out of a team or a group chat, or a channel deleted: those channels' follows end.
  const botRemoved = (a.membersRemoved ?? []).some((m) => m.id === a.recipient.id);
  const scope = scopeOf(a);
  const where =
    botRemoved && scope === 'channel' && a.channelData?.team
      ? { teamId: a.channelData.team.id }
      : botRemoved && scope === 'groupChat'
        ? { externalIds: [a.conversation.id] }
        : event === 'channelDeleted' && a.channelData?.channel
          ? { externalIds: [a.channelData.channel.id] }
          : null;
  if (!where) return;
  const reason = botRemoved ? `the app was removed by ${a.from.name ?? a.from.id}` : 'the channel was deleted';
  const ended = await endChannels(deps.ctx, { platform: 'teams', tenant, ...where }, reason);
  deps.log.info({ tenant, ...where, ...ended }, `teams: ${reason}; those channels' follows ended`);
}

/** Stores where the bot can write later: the person's 1:1 chat, or the channel / group chat. */
async function remember(deps: TeamsBotDeps, turn: TurnContext, a: TeamsActivity, tenant: string): Promise<void> {
  if (scopeOf(a) === 'personal') await deps.directory.actor(turn, a, tenant);
  else await upsertChannel(deps.ctx, channelInput(a, tenant));
}
