import { USAGE } from '../../core/commands/usage.js';
import { DomainError, invalid, rule } from '../../core/errors.js';
import { canDirectMessage } from '../../core/permissions.js';
import { quietUntil } from '../../core/quiet-hours.js';
import type { FollowState } from '../../core/types.js';
import { findFollow } from '../follows.js';
import { writeOutbox } from '../outbox.js';
import { requireSource } from '../people.js';
import { requireActAs } from '../services.js';
import { postStatus } from '../statuses.js';
import type { Handler } from './handler.js';

export const post: Handler<'post'> = async ({ ctx, actor, platform }, cmd) => {
  const { status } = await postStatus(ctx, { sourceId: actor.id, authorId: actor.id, text: cmd.text, platform });
  return { text: `Posted: ${status.url}` };
};

export const postAs: Handler<'as'> = async ({ ctx, actor, platform }, cmd) => {
  const source = await requireSource(ctx, `@${cmd.handle}`);
  if (source.kind === 'person' && source.id !== actor.id) {
    throw invalid(`@${source.handle} is a person; "as" posts as a service you own.`, USAGE.as.usage);
  }
  await requireActAs(ctx, actor, source);
  const { status } = await postStatus(ctx, { sourceId: source.id, authorId: actor.id, text: cmd.text, platform });
  return { text: `Posted as @${source.handle}: ${status.url}` };
};

/** A follow counts for `d` while it is approved, even when switched off. */
const follows = (s: FollowState | undefined) => s === 'active' || s === 'off';

export const direct: Handler<'d'> = async ({ ctx, actor }, cmd) => {
  const to = await requireSource(ctx, `@${cmd.handle}`);
  if (to.kind !== 'person') throw invalid(`@${to.handle} is a service; direct messages go to people.`, USAGE.d.usage);
  if (to.id === actor.id) throw rule('That is you; a direct message goes to someone else.', USAGE.d.usage);
  const [out, back] = await Promise.all([
    findFollow(ctx.db, { kind: 'person', id: actor.id }, { kind: 'source', value: to.id }),
    findFollow(ctx.db, { kind: 'person', id: to.id }, { kind: 'source', value: actor.id }),
  ]);
  if (!canDirectMessage({ senderFollowsRecipient: follows(out?.state), recipientFollowsSender: follows(back?.state), senderIsAdmin: actor.isAdmin })) {
    throw new DomainError('forbidden', `You and @${to.handle} must follow each other to exchange direct messages.`, `follow @${to.handle}`);
  }
  // The recipient's switch and quiet hours hold for direct messages too (src/pipeline/channels/dm.ts).
  if (to.switchedOff) throw rule(`@${to.handle} has switched deliveries off, so nothing reaches them until they switch on again.`);
  const message = { kind: 'direct' as const, from: { handle: actor.handle, name: actor.name }, text: cmd.text };
  await writeOutbox(ctx.db, { event: 'notice', payload: { personId: to.id, message } });
  ctx.kick();
  const quiet = quietUntil(ctx.clock.now(), to.timezone, to.quietStart, to.quietEnd);
  return { text: quiet ? `Sent to @${to.handle}; they are in quiet hours, so it reaches them when those end.` : `Sent to @${to.handle}.` };
};
