import { followersOf, followsOf, labelOf, type FollowRow } from '../follows.js';
import { handlesOf, ownerIdsOf, requireSource } from '../people.js';
import { canViewSource, sourceTimeline } from '../statuses.js';
import { filtersText, routeText } from './follow.js';
import { listReply, type Handler } from './handler.js';
import type { DbOrTx } from '../../db/client.js';

const LIST_LIMIT = 100;

/** One line per follow: what, where to, filters, and its state when not plainly active. */
export async function followLine(db: DbOrTx, f: FollowRow): Promise<string> {
  const state = f.state === 'pending' ? ' (waiting for approval)' : f.state === 'off' ? ' (switched off)' : '';
  // A channel's follows all post in the channel: no need to say where.
  const route = f.route === 'channel' ? '' : `: ${f.targetKind === 'word' ? 'tracked, ' : ''}${routeText(f.route)}`;
  return `${await labelOf(db, f)}${route}${filtersText(f.filters)}${state}`;
}

const KIND_ORDER = { source: 0, tag: 1, word: 2 } as const;

/** Sources, then tags, then words, each alphabetically (ids tie within a millisecond, so not by id). */
export async function sortedLines(db: DbOrTx, items: FollowRow[]): Promise<string[]> {
  const lines = await Promise.all(items.map(async (f) => ({ rank: KIND_ORDER[f.targetKind], line: await followLine(db, f) })));
  return lines.sort((a, b) => a.rank - b.rank || a.line.localeCompare(b.line)).map((l) => l.line);
}

export const following: Handler<'following'> = async ({ ctx, actor }) => {
  const { items, next } = await followsOf(ctx, [{ kind: 'person', id: actor.id }], { limit: LIST_LIMIT });
  if (!items.length) return { text: 'You follow nothing yet. Try: follow @handle, follow #tag or track <word>' };
  const lines = await sortedLines(ctx.db, items);
  if (next) lines.push(`…and more (the API lists them all: GET /api/v1/follows)`);
  const off = actor.switchedOff ? ' (all deliveries are switched off: "on" turns them on)' : '';
  return listReply(`You follow${off}:`, lines);
};

export const followers: Handler<'followers'> = async ({ ctx, actor }, cmd) => {
  const source = cmd.handle ? await requireSource(ctx, `@${cmd.handle}`) : actor;
  const who = source.id === actor.id ? 'You have' : `@${source.handle} has`;
  const { count, people } = await followersOf(ctx, source.id, LIST_LIMIT);
  const plural = count === 1 ? 'follower' : 'followers';
  if (!count) return { text: `${who} no followers yet.` };
  // Who follows a protected source is as private as what it posts.
  if (!(await canViewSource(ctx, source, actor))) return { text: `${who} ${count} ${plural}.` };
  const lines = people.map((h) => `@${h}`);
  const others = count - people.length;
  if (others > 0) lines.push(`…and ${others} more (channels, webhooks or beyond the first ${LIST_LIMIT})`);
  return listReply(`${who} ${count} ${plural}:`, lines);
};

export const whois: Handler<'whois'> = async ({ ctx }, cmd) => {
  const s = await requireSource(ctx, `@${cmd.handle}`);
  const { count } = await followersOf(ctx, s.id, 1);
  const lines = [`kind: ${s.kind}`];
  if (s.kind === 'service') {
    const owners = await handlesOf(ctx.db, await ownerIdsOf(ctx.db, s));
    lines.push(`owners: ${owners.length ? owners.map((h) => `@${h}`).join(', ') : 'none'}`);
  }
  lines.push(`visibility: ${s.visibility}${s.visibility === 'protected' ? ' (followers need approval)' : ''}`);
  lines.push(`followers: ${count}`);
  return listReply(`@${s.handle}: ${s.name}`, lines);
};

export const getLatest: Handler<'get'> = async ({ ctx, actor }, cmd) => {
  const s = await requireSource(ctx, `@${cmd.handle}`);
  const { items } = await sourceTimeline(ctx, s, actor, { limit: 1 });
  const latest = items[0];
  if (!latest) return { text: `@${s.handle} has not posted anything yet.` };
  return { text: `@${s.handle} (${s.name}), ${latest.created_at}:\n${latest.text}\n${latest.url}` };
};
