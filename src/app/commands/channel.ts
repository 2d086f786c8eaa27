import type { ChannelAction } from '../../core/commands/parse.js';
import { CHANNEL_USAGE } from '../../core/commands/usage.js';
import { notFound, rule } from '../../core/errors.js';
import { getChannel, setPublish } from '../channels.js';
import { findFollow, follow, followsOf, removeFollow, resolveTarget } from '../follows.js';
import { getSourceById, requireSource } from '../people.js';
import { sortedLines } from './lists.js';
import { listReply, type CommandEnv, type Handler } from './handler.js';

const HOW = 'in Slack with /tp in the channel, in Teams by mentioning Twitterprise in the channel';

async function run(env: CommandEnv, channelId: string, cmd: ChannelAction) {
  const { ctx, actor, via } = env;
  const subscriber = { kind: 'channel' as const, id: channelId };
  switch (cmd.action) {
    case 'follow': {
      const target = await resolveTarget(ctx, `@${cmd.handle}`);
      const r = await follow(ctx, { subscriber, actor, target, route: 'channel', via });
      if (r.pending) return { text: `${target.label} is protected: a request for this channel to follow it was sent to its owners.` };
      return { text: r.created ? `This channel now follows ${target.label}: its statuses will be posted here.` : `This channel already follows ${target.label}.` };
    }
    case 'unfollow': {
      const target = await resolveTarget(ctx, `@${cmd.handle}`);
      const f = await findFollow(ctx.db, subscriber, target);
      if (!f) throw notFound(`This channel does not follow ${target.label}.`, CHANNEL_USAGE.list);
      await removeFollow(ctx, f, actor.id, via, target.label);
      return { text: `This channel no longer follows ${target.label}.` };
    }
    case 'list': {
      const [{ items }, ch] = await Promise.all([followsOf(ctx, [subscriber], { limit: 100 }), getChannel(ctx, channelId)]);
      const lines = await sortedLines(ctx.db, items);
      const svc = ch?.publishServiceId ? await getSourceById(ctx.db, ch.publishServiceId) : null;
      if (svc) lines.push(`New top-level messages here are published as @${svc.handle}.`);
      if (!lines.length) return { text: 'This channel follows nothing. Try: channel follow @handle' };
      return listReply(items.length ? 'This channel follows:' : 'This channel follows nothing.', lines);
    }
    case 'publish': {
      const service = await requireSource(ctx, `@${cmd.handle}`);
      await setPublish(ctx, channelId, actor, service);
      return { text: `New top-level messages in this channel are now published as @${service.handle}.` };
    }
    case 'unpublish': {
      await setPublish(ctx, channelId, actor, null);
      return { text: 'Messages in this channel are no longer published as a status.' };
    }
  }
}

export const channel: Handler<'channel'> = async (env, cmd) => {
  if (!env.channelId) {
    throw rule(`"channel ${cmd.action}" works only in a channel: run it there (${HOW}).`, CHANNEL_USAGE[cmd.action]);
  }
  return run(env, env.channelId, cmd);
};
