import type { Target } from '../../core/commands/parse.js';
import { notFound } from '../../core/errors.js';
import type { FollowRoute } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { findFollow, follow, removeFollow, resolveTarget, type FollowRow, type Subscriber, type TargetSpec } from '../follows.js';
import { getSourceById } from '../people.js';
import type { CommandEnv, Handler } from './handler.js';

export function targetSpec(ctx: AppContext, t: Target): Promise<TargetSpec> {
  return resolveTarget(ctx, t.kind === 'source' ? `@${t.handle}` : `#${t.tag}`);
}

export function routeText(route: FollowRoute): string {
  switch (route) {
    case 'dm':
      return 'in your DMs';
    case 'email':
      return 'in your email digest';
    case 'both':
      return 'in your DMs and your email digest';
    case 'channel':
      return 'in a channel';
    case 'webhook':
      return 'through a webhook';
  }
}

export const filtersText = (filters: readonly string[]) => (filters.length ? ` with filters ${filters.join(' ')}` : '');

/** Email routes need a digest to reach anyone: say so when it is off. */
async function digestHint(ctx: AppContext, personId: string, route: FollowRoute): Promise<string> {
  if (route !== 'email' && route !== 'both') return '';
  const me = await getSourceById(ctx.db, personId);
  if (!me?.email) return ' We have no email address for you, so nothing can go to a digest yet.';
  if (me.digestPeriod === 'off') return ' Your email digest is off: turn it on with "digest daily".';
  return '';
}

export const followCmd: Handler<'follow'> = async ({ ctx, actor, via }, cmd) => {
  const target = await targetSpec(ctx, cmd.target);
  const subscriber: Subscriber = { kind: 'person', id: actor.id };
  // "follow @x" again without "via" keeps the route it had.
  const route = cmd.route ?? (await findFollow(ctx.db, subscriber, target))?.route ?? 'dm';
  const r = await follow(ctx, { subscriber, actor, target, route, filters: cmd.filters, via });
  if (r.pending) {
    return {
      text: r.created
        ? `${target.label} is protected: your request to follow it was sent, and you will hear when it is decided.`
        : `Your request to follow ${target.label} is still waiting for approval; when approved, it delivers ${routeText(route)}${filtersText(r.follow.filters)}.`,
    };
  }
  const lead = r.created ? `You follow ${target.label}` : `Updated: you follow ${target.label}`;
  return { text: `${lead} ${routeText(route)}${filtersText(r.follow.filters)}.${await digestHint(ctx, actor.id, route)}` };
};

async function remove(env: CommandEnv, target: TargetSpec, missing: string): Promise<FollowRow> {
  const f = await findFollow(env.ctx.db, { kind: 'person', id: env.actor.id }, target);
  if (!f) throw notFound(missing, 'following');
  await removeFollow(env.ctx, f, env.actor.id, env.via, target.label);
  return f;
}

export const unfollowCmd: Handler<'unfollow'> = async (env, cmd) => {
  const target = await targetSpec(env.ctx, cmd.target);
  const f = await remove(env, target, `You do not follow ${target.label}.`);
  return { text: f.state === 'pending' ? `Your request to follow ${target.label} was withdrawn.` : `You no longer follow ${target.label}.` };
};

export const track: Handler<'track'> = async ({ ctx, actor, via }, cmd) => {
  const target = await resolveTarget(ctx, cmd.word);
  const subscriber: Subscriber = { kind: 'person', id: actor.id };
  const route = (await findFollow(ctx.db, subscriber, target))?.route ?? 'dm';
  const r = await follow(ctx, { subscriber, actor, target, route, via });
  const lead = r.created ? `You track ${target.label}` : `You already track ${target.label}`;
  return { text: `${lead}: every status you may see that contains it comes ${routeText(route)}.` };
};

export const untrack: Handler<'untrack'> = async (env, cmd) => {
  const target = await resolveTarget(env.ctx, cmd.word);
  await remove(env, target, `You do not track ${target.label}.`);
  return { text: `You no longer track ${target.label}.` };
};
