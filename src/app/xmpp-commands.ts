import { parseCommand, type ParsedCommand } from '../core/commands/parse.js';
import { helpLines } from '../core/commands/usage.js';
import { DomainError, describeError, notFound, rule } from '../core/errors.js';
import { normalizeInputText } from '../core/input-text.js';
import type { Reply } from '../core/types.js';
import { and, eq } from 'drizzle-orm';
import { follows } from '../db/schema.js';
import { executeCommand, SORRY } from './commands/execute.js';
import { listReply } from './commands/handler.js';
import { sortedLines } from './commands/lists.js';
import type { AppContext } from './context.js';
import { findFollow, follow, removeFollow, resolveTarget, switchFollow, type Subscriber } from './follows.js';
import { confirmLink, linkedPerson, noteAddress } from './xmpp-addresses.js';

/**
 * Chat commands from an XMPP address to the component's bare domain (SPEC section 8): the one grammar
 * and, for a linked address, the one executor acting as its person.
 */

/** What an address that is not linked may do by command (SPEC section 8). */
const UNLINKED = new Set<ParsedCommand['name']>(['follow', 'unfollow', 'help', 'following', 'on', 'off', 'confirm']);

/**
 * One chat message from an address to the component's bare domain: the one grammar, normalised as
 * every door does. Never throws: mistakes are a sentence and the usage, the unexpected an apology.
 */
export async function executeXmppCommand(ctx: AppContext, input: { jid: string; text: string }): Promise<Reply> {
  const text = normalizeInputText(input.text);
  try {
    const person = await linkedPerson(ctx.db, input.jid);
    const cmd = parseCommand(text);
    if (person) {
      if (cmd.name === 'confirm') return { text: `This address is already linked to @${person.handle}.` };
      return executeCommand(ctx, { actor: person, platform: 'xmpp', text });
    }
    await noteAddress(ctx.db, input.jid, ctx.clock.now());
    if (!UNLINKED.has(cmd.name)) {
      throw rule(
        `This XMPP address is not linked to a person yet, so it may only follow public sources and use help, following, on and off. To do more, write "link xmpp ${input.jid}" to Twitterprise in Slack or Teams, then send the code here with "confirm <code>".`,
      );
    }
    return await unlinkedCommand(ctx, input.jid, cmd);
  } catch (err) {
    if (err instanceof DomainError) return { text: describeError(err) };
    ctx.log.child({ name: 'xmpp-commands' }).error({ err }, 'xmpp command failed');
    return { text: SORRY };
  }
}

async function unlinkedCommand(ctx: AppContext, jid: string, cmd: ParsedCommand): Promise<Reply> {
  const subscriber: Subscriber = { kind: 'xmpp', id: jid };
  const actor = { id: null, isAdmin: false };
  const spec = (t: { kind: 'source'; handle: string } | { kind: 'tag'; tag: string }) => resolveTarget(ctx, t.kind === 'source' ? `@${t.handle}` : `#${t.tag}`);
  switch (cmd.name) {
    case 'confirm': {
      const person = await confirmLink(ctx, jid, cmd.code);
      return { text: `Linked: this address is now @${person.handle}'s. Its follows are yours, delivered here (route xmpp).` };
    }
    case 'follow': {
      const target = await spec(cmd.target);
      if (target.source?.visibility === 'protected') {
        throw rule(`${target.label} is protected: add ${target.source.handle}@${ctx.config.xmpp?.domain ?? 'this domain'} as a contact to ask its owners.`);
      }
      const r = await follow(ctx, { subscriber, actor, target, route: 'xmpp', filters: cmd.filters, via: 'xmpp' });
      return { text: `${r.created ? 'You follow' : 'Updated: you follow'} ${target.label} here.` };
    }
    case 'unfollow': {
      const target = await spec(cmd.target);
      const f = await findFollow(ctx.db, subscriber, target);
      if (!f) throw notFound(`You do not follow ${target.label}.`, 'following');
      await removeFollow(ctx, f, null, 'xmpp', target.label);
      return { text: `You no longer follow ${target.label}.` };
    }
    case 'following': {
      const rows = await ctx.db.select().from(follows).where(and(eq(follows.subscriberKind, 'xmpp'), eq(follows.subscriberId, jid))).limit(100);
      if (!rows.length) return { text: 'This address follows nothing yet. Add a source as a contact (build@domain), or: follow @handle' };
      return listReply('This address follows:', await sortedLines(ctx.db, rows));
    }
    case 'on':
    case 'off': {
      const on = cmd.name === 'on';
      if (cmd.target) {
        const target = await spec(cmd.target);
        const f = await findFollow(ctx.db, subscriber, target);
        if (!f) throw notFound(`You do not follow ${target.label}.`, 'following');
        await switchFollow(ctx, f, on, null, 'xmpp', target.label);
        return { text: `${target.label} is switched ${cmd.name}.` };
      }
      // An address has no person row to carry a global switch: every follow of it is switched.
      const rows = await ctx.db.select().from(follows).where(and(eq(follows.subscriberKind, 'xmpp'), eq(follows.subscriberId, jid), eq(follows.state, on ? 'off' : 'active')));
      for (const f of rows) await switchFollow(ctx, f, on, null, 'xmpp');
      return { text: on ? 'Deliveries to this address are on again.' : 'Deliveries to this address are off until you send "on".' };
    }
    case 'help': {
      const { title, lines } = helpLines(cmd.topic);
      if (cmd.topic) return listReply(title, lines);
      return listReply('This XMPP address is not linked to a person. It may use:', [
        `follow @handle: a public source's statuses, here (or add handle@${ctx.config.xmpp?.domain ?? 'this domain'} as a contact)`,
        'unfollow @handle, following, on, off: stop, list, switch',
        'confirm <code>: link this address to you, with the code "link xmpp <this address>" in Slack or Teams sent here',
      ]);
    }
    default:
      throw rule('This XMPP address may not do that before it is linked.');
  }
}
