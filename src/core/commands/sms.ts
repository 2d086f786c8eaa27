import { invalid } from '../errors.js';
import { isHandle } from '../handles.js';
import { parseCommand, type ParsedCommand } from './parse.js';
import { commandOf, type CommandName } from './usage.js';

/**
 * The chat grammar as typed on a phone (SPEC section 9): the same parser, with two differences. Handles
 * may be written without `@` (`follow build`, `get build`, `d alice lunch?`, `off build`), and a status is
 * posted only with `post <text>`, so a stray reply to a text is never published.
 */

/** Commands whose first argument is a handle; a bare word there is read as `@word`. */
const HANDLE_FIRST: ReadonlySet<CommandName> = new Set(['follow', 'unfollow', 'get', 'whois', 'd', 'as', 'approve', 'deny', 'block', 'followers', 'on', 'off']);

/** What HELP (and any text we cannot read) answers: short enough for one or two texts. */
export const SMS_USAGE =
  'Twitterprise by text: follow build, follow build via sms, unfollow build, get build, following, off, on, off build, d alice <text>, post <text>, help follow. STOP ends texts, START resumes.';

/** `follow build` -> `follow @build`; everything else as typed. */
export function withBareHandles(text: string): string {
  const m = /^(\s*)(\S+)(\s+)(\S+)(.*)$/su.exec(text);
  if (!m) return text;
  const [, lead, word, gap, arg, rest] = m as unknown as [string, string, string, string, string, string];
  const name = commandOf(word);
  if (!name || !HANDLE_FIRST.has(name)) return text;
  if (arg.startsWith('@') || arg.startsWith('#') || !isHandle(arg.toLowerCase())) return text;
  return `${lead}${word}${gap}@${arg}${rest}`;
}

/** Parses one text message. Throws a DomainError (with the SMS usage) for a bare status. */
export function parseSmsCommand(text: string): ParsedCommand {
  const cmd = parseCommand(withBareHandles(text));
  if (cmd.name === 'post' && commandOf(text.trim().split(/\s/)[0] ?? '') !== 'post') {
    throw invalid('By text, a status is posted only when it starts with "post".', SMS_USAGE);
  }
  return cmd;
}
