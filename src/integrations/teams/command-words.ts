/**
 * The first words of SPEC section 2's commands. A message in a `channel publish` channel that @mentions
 * the bot is a command only when it starts with one of them; anything else is published.
 */
const COMMAND_WORDS = new Set([
  'post', 'as', 'follow', 'unfollow', 'leave', 'track', 'untrack', 'on', 'off', 'catchup', 'following', 'followers',
  'whois', 'get', 'last', 'd', 'token', 'dm', 'protect', 'requests', 'approve', 'deny', 'block', 'quiet', 'digest',
  'channel', 'help',
]);

export function firstWord(text: string): string {
  return (text.trim().split(/\s+/, 1)[0] ?? '').toLowerCase();
}

export function startsWithCommandWord(text: string): boolean {
  return COMMAND_WORDS.has(firstWord(text));
}
