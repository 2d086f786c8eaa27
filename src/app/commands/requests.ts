import { DomainError, rule } from '../../core/errors.js';
import { getChannel } from '../channels.js';
import { block, decideFollowRequest, findRequestBy, labelOf, pendingRequests, subscriberLabel } from '../follows.js';
import { getSourceById, isOwnerOf, requireSource, type SourceRow } from '../people.js';
import { listReply, type CommandEnv, type Handler } from './handler.js';

export const requests: Handler<'requests'> = async ({ ctx, actor }) => {
  const { items, next } = await pendingRequests(ctx, actor, { limit: 50 });
  if (!items.length) return { text: 'No follow requests are waiting for you.' };
  const lines = await Promise.all(
    items.map(async (f) => {
      const what = await labelOf(ctx.db, f);
      if (f.subscriberKind === 'channel') {
        const ch = await getChannel(ctx, f.subscriberId);
        const name = ch?.name ? `the ${ch.platform === 'slack' ? 'Slack' : 'Teams'} channel "${ch.name}"` : 'a channel';
        return `${name} asks to follow ${what}: decide with the buttons in your DM`;
      }
      const who = await subscriberLabel(ctx.db, f.subscriberKind, f.subscriberId);
      return f.subscriberKind === 'person' ? `${who} asks to follow ${what}: "approve ${who}" or "deny ${who}"` : `${who} asks to follow ${what}`;
    }),
  );
  if (next) lines.push('…and more: decide these first, then ask again.');
  return listReply('Follow requests waiting for you:', lines);
};

async function decide(env: CommandEnv, handle: string, decision: 'approve' | 'deny') {
  const { ctx, actor, via } = env;
  const requester = await requireSource(ctx, `@${handle}`);
  if (requester.id === actor.id) throw new DomainError('forbidden', 'You cannot decide your own follow request.', 'requests');
  const f = await findRequestBy(ctx, actor, `@${requester.handle}`);
  const r = await decideFollowRequest(ctx, { actor, followId: f.id, decision, via });
  return { text: `You ${decision === 'approve' ? 'approved' : 'denied'} ${r.requester}'s request to follow @${r.source.handle}.` };
}

export const approve: Handler<'approve'> = (env, cmd) => decide(env, cmd.handle, 'approve');
export const deny: Handler<'deny'> = (env, cmd) => decide(env, cmd.handle, 'deny');

/**
 * `block @jane` blocks her from following the actor, unless her only pending request to the actor
 * is for a service the actor owns: then from that service.
 */
export const blockCmd: Handler<'block'> = async ({ ctx, actor, via }, cmd) => {
  const person = await requireSource(ctx, `@${cmd.handle}`);
  if (person.id === actor.id) throw rule('You cannot block yourself.', 'block @handle');
  let source: SourceRow = actor;
  const { items } = await pendingRequests(ctx, actor, { limit: 100 });
  const hers = items.filter((f) => f.subscriberKind === 'person' && f.subscriberId === person.id);
  if (hers.length && !hers.some((f) => f.target === actor.id)) {
    for (const f of hers) {
      const s = await getSourceById(ctx.db, f.target);
      if (s && (await isOwnerOf(ctx.db, s.id, actor.id))) {
        source = s;
        break;
      }
    }
  }
  await block(ctx, { actor, source, person, via });
  const from = source.id === actor.id ? 'you' : `@${source.handle}`;
  return { text: `You blocked @${person.handle}: they no longer follow ${from} and cannot ask again.` };
};
