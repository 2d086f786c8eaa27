import { parseCommand, type ParsedCommand, type ParsedCommandOf } from '../../core/commands/parse.js';
import type { CommandName } from '../../core/commands/usage.js';
import { DomainError, describeError } from '../../core/errors.js';
import type { Reply } from '../../core/types.js';
import type { AppContext } from '../context.js';
import type { SourceRow } from '../people.js';
import { channel } from './channel.js';
import { find, services, web } from './console.js';
import { followCmd, track, unfollowCmd, untrack } from './follow.js';
import type { CommandDoor, CommandEnv, Handlers } from './handler.js';
import { help } from './help.js';
import { inputsCmd } from './inputs.js';
import { followers, following, getLatest, whois } from './lists.js';
import { phone } from './phone.js';
import { direct, post, postAs } from './post.js';
import { approve, blockCmd, deny, requests } from './requests.js';
import { digest, dm, protect, quiet, token } from './settings.js';
import { catchup, switchOff, switchOn } from './switch.js';
import { confirmCmd, linkCmd } from './xmpp.js';

export const SORRY = 'Something went wrong on our side; it has been logged. Please try again.';

const HANDLERS: Handlers = {
  post,
  as: postAs,
  follow: followCmd,
  unfollow: unfollowCmd,
  track,
  untrack,
  on: switchOn,
  off: switchOff,
  catchup,
  following,
  followers,
  whois,
  find,
  services,
  get: getLatest,
  d: direct,
  token,
  dm,
  protect,
  requests,
  approve,
  deny,
  block: blockCmd,
  quiet,
  digest,
  channel,
  web,
  inputs: inputsCmd,
  link: linkCmd,
  confirm: confirmCmd,
  phone,
  help,
};

function dispatch<N extends CommandName>(env: CommandEnv, cmd: ParsedCommandOf<N>): Promise<Reply> {
  const handler = HANDLERS[cmd.name];
  return handler(env, cmd);
}

export interface CommandInput {
  /** The person typing: a `sources` row of kind person. */
  actor: SourceRow;
  platform: CommandDoor;
  /** Our channel row id when typed in a channel; `channel ...` commands need it. */
  channelId?: string | undefined;
  /** Plain text with mentions already turned into `@handle` by the chat adapter. */
  text: string;
  /** A door's own reading of the one grammar (SMS: bare handles, no implicit post); parseCommand by default. */
  parse?: (text: string) => ParsedCommand;
}

/**
 * Runs one chat command (SPEC section 2) for a person. Never throws: a mistake comes back as the
 * sentence naming it plus the right usage; anything unexpected is logged and answered with an apology,
 * never a stack trace.
 */
export async function executeCommand(ctx: AppContext, input: CommandInput): Promise<Reply> {
  let name: CommandName | undefined;
  try {
    const cmd = (input.parse ?? parseCommand)(input.text);
    name = cmd.name;
    return await dispatch({ ctx, actor: input.actor, platform: input.platform, channelId: input.channelId, via: input.platform }, cmd);
  } catch (err) {
    if (err instanceof DomainError) return { text: describeError(err) };
    // The text is not logged: it may be a private message or a status not yet posted.
    ctx.log.child({ name: 'commands' }).error({ err, command: name, actor: input.actor.id, platform: input.platform }, 'chat command failed');
    return { text: SORRY };
  }
}
