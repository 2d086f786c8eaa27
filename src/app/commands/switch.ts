import { USAGE } from '../../core/commands/usage.js';
import { rule } from '../../core/errors.js';
import { setFollowSwitch, setGlobalSwitch } from '../follows.js';
import { writeOutbox } from '../outbox.js';
import { getSourceById } from '../people.js';
import { homeTimeline } from '../statuses.js';
import { targetSpec } from './follow.js';
import type { CommandEnv, Handler } from './handler.js';

async function flip(env: CommandEnv, cmd: Parameters<Handler<'on' | 'off'>>[1], on: boolean) {
  const { ctx, actor, via } = env;
  if (!cmd.target) {
    await setGlobalSwitch(ctx, actor.id, on, via);
    return {
      text: on
        ? 'Your deliveries are on again. "catchup" lists what you missed while they were off.'
        : 'All your deliveries are off. Nothing is lost: "catchup" lists what you missed, and "on" turns them back on.',
    };
  }
  const target = await targetSpec(ctx, cmd.target);
  await setFollowSwitch(ctx, actor.id, target, on, via);
  if (!on) return { text: `Deliveries from ${target.label} are off. "on ${target.label}" turns them back on.` };
  const me = await getSourceById(ctx.db, actor.id);
  const still = me?.switchedOff ? ' All your deliveries are still off, though: "on" turns them on.' : '';
  return { text: `Deliveries from ${target.label} are on again.${still}` };
}

export const switchOn: Handler<'on'> = (env, cmd) => flip(env, cmd, true);
export const switchOff: Handler<'off'> = (env, cmd) => flip(env, cmd, false);

/** At most this many statuses in one catch-up DM; the rest are counted. */
const SHOWN = 20;
const SCANNED = 100;

function ago(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

export const catchup: Handler<'catchup'> = async ({ ctx, actor }, cmd) => {
  const now = ctx.clock.now();
  let since: Date;
  let period: string;
  if (cmd.minutes !== null) {
    since = new Date(now.getTime() - cmd.minutes * 60_000);
    period = `in the last ${ago(cmd.minutes)}`;
  } else {
    // The row the adapter passed may predate an "off" in this same conversation: read it again.
    const me = await getSourceById(ctx.db, actor.id);
    if (!me?.switchedOffAt) {
      throw rule('You have not switched off, so say how far back to catch up.', USAGE.catchup.usage);
    }
    since = me.switchedOffAt;
    period = `since you switched off (${since.toISOString().slice(0, 16).replace('T', ' ')} UTC)`;
  }
  const { items, next } = await homeTimeline(ctx, actor.id, { limit: SCANNED }, since);
  if (!items.length) return { text: `Nothing new from what you follow ${period}.` };
  const count = next ? `${SCANNED}+` : String(items.length);
  await writeOutbox(ctx.db, {
    event: 'notice',
    payload: {
      personId: actor.id,
      message: { kind: 'summary', title: `Catch-up: what you follow posted ${period}`, items: items.slice(0, SHOWN), more: Math.max(0, items.length - SHOWN) },
      key: `catchup:${now.getTime()}`,
    },
  });
  ctx.kick();
  return { text: `Catching up: a DM with ${count} ${items.length === 1 ? 'status' : 'statuses'} posted ${period} is on its way.` };
};
