import { rule } from '../../core/errors.js';
import { startLink } from '../xmpp-addresses.js';
import type { Handler } from './handler.js';

/** `link xmpp <jid>` (SPEC section 8): a code goes to the address, which answers `confirm <code>`. */
export const linkCmd: Handler<'link'> = async ({ ctx, actor }, cmd) => {
  const r = await startLink(ctx, actor, cmd.jid);
  if (r.alreadyLinked) return { text: `${r.jid} is already linked to you.` };
  return { text: `A code is on its way to ${r.jid}. From that address, send "confirm <code>" to ${ctx.config.xmpp?.domain ?? 'Twitterprise'} within 15 minutes.` };
};

/** `confirm` belongs to the XMPP address; typed anywhere else it only explains. */
export const confirmCmd: Handler<'confirm'> = ({ platform }) => {
  if (platform === 'xmpp') return Promise.resolve({ text: 'This address is already linked.' });
  return Promise.reject(rule('Send "confirm <code>" from the XMPP address you are linking, to the Twitterprise contact there.', 'link xmpp <jid>'));
};
