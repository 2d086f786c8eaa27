import { inputLines } from '../inputs.js';
import { listReply, type Handler } from './handler.js';

/** `inputs @service` (owners and admins): the service's feeds and calendars and how their polls go. */
export const inputsCmd: Handler<'inputs'> = async ({ ctx, actor }, cmd) => {
  const { handle, lines } = await inputLines(ctx, { id: actor.id, isAdmin: actor.isAdmin }, cmd.handle);
  if (!lines.length) return { text: `@${handle} has no inputs yet. An owner or admin adds one with: npx twitterprise input add @${handle} feed <url> (or the API).` };
  return listReply(`Inputs of @${handle}:`, lines);
};
