/**
 * The chat grammar's words and their usage (SPEC section 2). The registry is a
 * `Record<CommandName, Usage>`, so a command without usage and help is a compile error.
 */
export const COMMAND_NAMES = [
  'post',
  'as',
  'follow',
  'unfollow',
  'track',
  'untrack',
  'on',
  'off',
  'catchup',
  'following',
  'followers',
  'whois',
  'find',
  'services',
  'get',
  'd',
  'token',
  'dm',
  'protect',
  'requests',
  'approve',
  'deny',
  'block',
  'quiet',
  'digest',
  'channel',
  'web',
  'inputs',
  'link',
  'confirm',
  'phone',
  'help',
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

/** Other words for the same command. */
export const ALIASES: Readonly<Record<string, CommandName>> = { leave: 'unfollow', last: 'get' };

export interface Usage {
  /** The right usage, shown after every mistake. */
  usage: string;
  /** One line for the command list. */
  summary: string;
  /** More lines for `help <command>`. */
  details?: readonly string[];
}

export const USAGE: Readonly<Record<CommandName, Usage>> = {
  post: {
    usage: 'post <text>',
    summary: 'post a status as yourself (any text that does not start with a command word is posted too)',
    details: ['A status is 1 to 1,000 characters. Start with "post" when your text begins with a command word, e.g. "post on my way".'],
  },
  as: { usage: 'as @service <text>', summary: 'post a status as a service you own' },
  follow: {
    usage: 'follow @handle [+#tag] [-word] [-#tag] [via dm|email|sms|both|dm+sms...]',
    summary: "get a source's or a tag's statuses in your DMs, your email digest, by text message, or several of them",
    details: [
      'follow #tag follows a tag. +#tag keeps only statuses with the tag; -word and -#tag drop statuses with them.',
      'Several routes join with +: via dm+sms (both = dm+email). By SMS you need a verified number first: phone +15551234567.',
      'A protected source must approve you first. "follow @handle" again changes the route and replaces the filters.',
    ],
  },
  unfollow: { usage: 'unfollow @handle (or #tag)', summary: 'stop following (also: leave)' },
  track: { usage: 'track <word>', summary: 'receive every status you may see that contains the word' },
  untrack: { usage: 'untrack <word>', summary: 'stop tracking a word' },
  on: { usage: 'on [@handle]', summary: 'switch all your deliveries on again, or one follow (on @handle)' },
  off: {
    usage: 'off [@handle]',
    summary: 'switch all your deliveries off, or one follow (off @handle)',
    details: ['Nothing is lost: statuses stay readable, and "catchup" sends you what you missed.'],
  },
  catchup: {
    usage: 'catchup [4h|30m|2d]',
    summary: 'one DM listing what your follows posted in that period (default: since you switched off)',
  },
  following: { usage: 'following', summary: 'what you follow and track' },
  followers: { usage: 'followers [@handle]', summary: 'who follows you, or a source' },
  whois: { usage: 'whois @handle', summary: "a source's name, kind, owners, visibility and follower count" },
  find: {
    usage: 'find <words>',
    summary: 'search the directory of people and services by handle and name',
    details: ['Every word must match. "services" lists the services.'],
  },
  services: { usage: 'services', summary: 'list the services you can follow' },
  get: { usage: 'get @handle', summary: "a source's latest status (also: last)" },
  d: {
    usage: 'd @handle <text>',
    summary: 'a direct message to a person',
    details: ['Only between people who follow each other.'],
  },
  token: { usage: 'token', summary: 'a new personal API token, shown once, privately' },
  dm: { usage: 'dm slack|teams|both', summary: 'where your DMs go when you use both Slack and Teams' },
  protect: { usage: 'protect on|off', summary: 'make your statuses protected (followers need your approval) or public' },
  requests: { usage: 'requests', summary: 'follow requests waiting for you' },
  approve: { usage: 'approve @handle', summary: "approve a person's follow request" },
  deny: { usage: 'deny @handle', summary: "deny a person's follow request" },
  block: { usage: 'block @handle', summary: 'remove a follower or requester and refuse their later follows' },
  quiet: {
    usage: 'quiet 22:00-07:00 [to digest] | quiet off',
    summary: 'quiet hours in your time zone: DMs wait until they end',
  },
  digest: {
    usage: 'digest hourly|daily|weekly|off [at HH:MM]',
    summary: 'an email digest of what your email-routed follows posted',
    details: ['Weekly digests go out on Mondays; hourly ones use only the minutes of "at".'],
  },
  channel: {
    usage: 'channel follow @handle | channel unfollow @handle | channel list | channel publish @service | channel unpublish',
    summary: "(in a channel) post a source's statuses here, or publish this channel's messages as a service",
    details: [
      'channel follow @handle: every status of the source is posted in this channel.',
      'channel publish @service: every new top-level message here becomes a status of the service (owners only).',
    ],
  },
  web: {
    usage: 'web',
    summary: 'a one-time link to sign in to the web console, privately',
    details: ['The link works once, within 10 minutes; opening it shows a "Sign in" button.'],
  },
  inputs: {
    usage: 'inputs @service',
    summary: "(owners) a service's feed and calendar inputs: state, last and next poll, last error",
    details: ['Inputs are added with the API (POST /api/v1/services/{handle}/inputs) or: npx twitterprise input add @service feed|calendar <url>.'],
  },
  link: {
    usage: 'link xmpp <jid>',
    summary: 'link an XMPP address to yourself: a code is sent there, answer it with confirm <code>',
    details: ['Once linked, the address acts as you: its commands are yours, and "follow @handle via xmpp" delivers there.'],
  },
  confirm: {
    usage: 'confirm <code>',
    summary: '(from your XMPP client) finish linking the address with the code "link xmpp" sent it',
  },
  phone: {
    usage: 'phone +15551234567 | phone off',
    summary: 'add your mobile number (a 6-digit code is texted to it: text it back) or remove it',
    details: [
      'Only a verified number receives texts: "follow @handle via sms" (or via dm+sms) then delivers there.',
      'By text: STOP ends every text to the number, START resumes, HELP answers the usage; "phone" alone shows your number.',
    ],
  },
  help: { usage: 'help [command]', summary: 'this list, or the usage of one command' },
};

/** Usage of one form of a command that has several (`channel publish`, `quiet off`). */
export const CHANNEL_USAGE = {
  follow: 'channel follow @handle',
  unfollow: 'channel unfollow @handle',
  list: 'channel list',
  publish: 'channel publish @service',
  unpublish: 'channel unpublish',
} as const;

export function commandOf(word: string): CommandName | undefined {
  const w = word.toLowerCase();
  if ((COMMAND_NAMES as readonly string[]).includes(w)) return w as CommandName;
  // Own keys only: "constructor" or "__proto__" typed in chat must not find Object.prototype's members.
  return Object.hasOwn(ALIASES, w) ? ALIASES[w] : undefined;
}

export function aliasesOf(name: CommandName): string[] {
  return Object.entries(ALIASES)
    .filter(([, n]) => n === name)
    .map(([a]) => a);
}

/** `help` (every command) or `help <command>`, as lines. */
export function helpLines(topic: CommandName | null): { title: string; lines: string[] } {
  if (topic === null) {
    return {
      title: 'Twitterprise commands',
      lines: COMMAND_NAMES.map((n) => `${USAGE[n].usage} : ${USAGE[n].summary}`),
    };
  }
  const u = USAGE[topic];
  const aliases = aliasesOf(topic);
  return {
    title: `Usage: ${u.usage}`,
    lines: [u.summary, ...(u.details ?? []), ...(aliases.length ? [`Also: ${aliases.join(', ')}`] : [])],
  };
}
