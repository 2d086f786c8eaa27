import type { Target } from '../../core/commands/parse.js';
import { notFound } from '../../core/errors.js';
import { DEFAULT_ROUTE, deliveryRoutes, formatRoutes, hasRoute, isPersonRoute, type PersonRoute } from '../../core/routes.js';
import type { FollowRoute } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { findFollow, follow, removeFollow, resolveTarget, type FollowRow, type Subscriber, type TargetSpec } from '../follows.js';
import { getSourceById } from '../people.js';
import { phoneOf } from '../phones.js';
import type { CommandEnv, Handler } from './handler.js';

export function targetSpec(ctx: AppContext, t: Target): Promise<TargetSpec> {
  return resolveTarget(ctx, t.kind === 'source' ? `@${t.handle}` : `#${t.tag}`);
}

const ROUTE_PLACE: Record<PersonRoute, string> = {
  dm: 'your DMs',
  email: 'your email digest',
  sms: 'text messages to your phone',
  xmpp: 'your XMPP address',
};

/** `in your DMs`, `in your DMs and text messages to your phone`, `in a channel`. */
export function routeText(route: FollowRoute): string {
  if (route === 'channel') return 'in a channel';
  if (route === 'webhook') return 'through a webhook';
  const places = deliveryRoutes('person', route).map((r) => (isPersonRoute(r) ? ROUTE_PLACE[r] : r));
  const list = places.length > 1 ? `${places.slice(0, -1).join(', ')} and ${places[places.length - 1]}` : places[0];
  return `in ${list}`;
}

export const filtersText = (filters: readonly string[]) => (filters.length ? ` with filters ${filters.join(' ')}` : '');

/** Email routes need a digest to reach anyone: say so when it is off. */
async function digestHint(ctx: AppContext, personId: string, route: FollowRoute): Promise<string> {
  if (!hasRoute(route, 'email')) return '';
  const me = await getSourceById(ctx.db, personId);
  if (!me?.email) return ' We have no email address for you, so nothing can go to a digest yet.';
  if (me.digestPeriod === 'off') return ' Your email digest is off: turn it on with "digest daily".';
  return '';
}

/** Texts need a verified number: say so when there is none, or when it was stopped. */
async function smsHint(ctx: AppContext, personId: string, route: FollowRoute): Promise<string> {
  if (!hasRoute(route, 'sms')) return '';
  if (!ctx.sms) return ' Texting is not set up on this server, so nothing is texted until it is.';
  const p = await phoneOf(ctx.db, personId);
  if (!p?.verifiedAt) return ' Texts need a verified phone number: phone +15551234567 (a code is texted to it).';
  if (p.stoppedAt) return ` Your number ${p.number} sent STOP: text START to it to get texts again.`;
  return '';
}

export const followCmd: Handler<'follow'> = async ({ ctx, actor, via }, cmd) => {
  const target = await targetSpec(ctx, cmd.target);
  const subscriber: Subscriber = { kind: 'person', id: actor.id };
  // "follow @x" again without "via" keeps the route it had.
  const route = cmd.route ? formatRoutes(cmd.route) : ((await findFollow(ctx.db, subscriber, target))?.route ?? DEFAULT_ROUTE);
  const r = await follow(ctx, { subscriber, actor, target, route, filters: cmd.filters, via });
  if (r.pending) {
    return {
      text: r.created
        ? `${target.label} is protected: your request to follow it was sent, and you will hear when it is decided.`
        : `Your request to follow ${target.label} is still waiting for approval; when approved, it delivers ${routeText(route)}${filtersText(r.follow.filters)}.`,
    };
  }
  const lead = r.created ? `You follow ${target.label}` : `Updated: you follow ${target.label}`;
  return { text: `${lead} ${routeText(route)}${filtersText(r.follow.filters)}.${await digestHint(ctx, actor.id, route)}${await smsHint(ctx, actor.id, route)}` };
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
  const route = (await findFollow(ctx.db, subscriber, target))?.route ?? DEFAULT_ROUTE;
  const r = await follow(ctx, { subscriber, actor, target, route, via });
  const lead = r.created ? `You track ${target.label}` : `You already track ${target.label}`;
  return { text: `${lead}: every status you may see that contains it comes ${routeText(route)}.` };
};

export const untrack: Handler<'untrack'> = async (env, cmd) => {
  const target = await resolveTarget(env.ctx, cmd.word);
  await remove(env, target, `You do not track ${target.label}.`);
  return { text: `You no longer track ${target.label}.` };
};
