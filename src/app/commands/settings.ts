import { USAGE } from '../../core/commands/usage.js';
import { rule } from '../../core/errors.js';
import { hasRoute } from '../../core/routes.js';
import { followsOf } from '../follows.js';
import { getSourceById, identitiesOf } from '../people.js';
import { setDigest, setDmPreference, setQuietHours, setVisibility } from '../settings.js';
import { createApiToken } from '../tokens.js';
import type { Handler } from './handler.js';

/** Shown once: only its hash is stored. The adapters answer privately (ephemeral in Slack, 1:1 in Teams). */
export const token: Handler<'token'> = async ({ ctx, actor }) => {
  const secret = await createApiToken(ctx, actor.id, actor.id);
  return {
    text:
      `Your new API token, shown only this once (keep it secret): ${secret}\n` +
      `Send it as "Authorization: Bearer <token>" to ${ctx.config.publicUrl}/api/v1.`,
  };
};

const PLATFORM = { slack: 'Slack', teams: 'Teams' } as const;

export const dm: Handler<'dm'> = async ({ ctx, actor, via }, cmd) => {
  await setDmPreference(ctx, actor.id, cmd.preference, via);
  const linked = new Set((await identitiesOf(ctx.db, actor.id)).map((i) => i.platform));
  const wanted = cmd.preference === 'both' ? (['slack', 'teams'] as const) : [cmd.preference];
  const missing = wanted.filter((p) => !linked.has(p)).map((p) => PLATFORM[p]);
  const where = cmd.preference === 'both' ? 'both Slack and Teams' : PLATFORM[cmd.preference];
  const note = missing.length ? ` You have not used Twitterprise on ${missing.join(' or ')} yet; until you do, DMs go where you are.` : '';
  return { text: `Your DMs now go to ${where}.${note}` };
};

export const protect: Handler<'protect'> = async ({ ctx, actor, via }, cmd) => {
  await setVisibility(ctx, actor.id, cmd.on ? 'protected' : 'public', via);
  return {
    text: cmd.on
      ? 'Your statuses are now protected: new followers need your approval ("requests" lists them). Current followers stay.'
      : 'Your statuses are now public: anyone may follow you.',
  };
};

export const quiet: Handler<'quiet'> = async ({ ctx, actor, via }, cmd) => {
  const me = await setQuietHours(ctx, actor.id, cmd.hours, via);
  if (!cmd.hours) return { text: 'Quiet hours are off.' };
  const then = cmd.hours.toDigest
    ? me.digestPeriod === 'off'
      ? 'go into your email digest, which is off: turn it on with "digest daily"'
      : 'go into your email digest'
    : `wait until ${cmd.hours.end} and come as one message`;
  return { text: `Quiet hours: ${cmd.hours.start}-${cmd.hours.end} (${me.timezone}). DMs that arrive then ${then}.` };
};

export const digest: Handler<'digest'> = async ({ ctx, actor, via }, cmd) => {
  if (cmd.period !== 'off') {
    const me = await getSourceById(ctx.db, actor.id);
    if (!me?.email) throw rule('A digest goes by email, and we have no email address for you.', USAGE.digest.usage);
  }
  const me = await setDigest(ctx, actor.id, cmd.period, cmd.at ?? undefined, via);
  if (me.digestPeriod === 'off') return { text: 'Your email digest is off.' };
  const at = me.digestAt;
  const when =
    me.digestPeriod === 'hourly'
      ? `every hour at :${at.slice(3)}`
      : me.digestPeriod === 'daily'
        ? `daily at ${at} (${me.timezone})`
        : `weekly on Mondays at ${at} (${me.timezone})`;
  const { items } = await followsOf(ctx, [{ kind: 'person', id: actor.id }], { limit: 100 });
  const none = items.some((f) => f.subscriberKind === 'person' && hasRoute(f.route, 'email'))
    ? ''
    : ' Nothing is routed to it yet: "follow @handle via email" (or via both) adds to it.';
  return { text: `Your email digest: ${when}, to ${me.email}.${none}` };
};
