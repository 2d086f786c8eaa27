import type { ParsedCommandOf } from '../../core/commands/parse.js';
import type { CommandName } from '../../core/commands/usage.js';
import type { ChatPlatform, Reply } from '../../core/types.js';
import type { Via } from '../audit.js';
import type { AppContext } from '../context.js';
import type { SourceRow } from '../people.js';

/** Where a command was typed: a chat platform, an XMPP client (SPEC section 8) or a text message (section 9). */
export type CommandDoor = ChatPlatform | 'xmpp' | 'sms';

/** Who runs a command, from where. */
export interface CommandEnv {
  ctx: AppContext;
  /** The person typing (a `sources` row of kind person). */
  actor: SourceRow;
  platform: CommandDoor;
  /** Our channel row id, when the command was typed in a channel (only `channel ...` needs it). */
  channelId?: string | undefined;
  via: Via;
}

export type Handler<N extends CommandName> = (env: CommandEnv, cmd: ParsedCommandOf<N>) => Promise<Reply>;

/** Every command's handler; a missing one is a compile error. */
export type Handlers = { [N in CommandName]: Handler<N> };

/** A reply with a title and lines, whose plain text carries all of it. */
export function listReply(title: string, lines: string[]): Reply {
  return { text: [title, ...lines].join('\n'), title, lines };
}
