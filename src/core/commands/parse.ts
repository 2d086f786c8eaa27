import { DomainError, invalid } from '../errors.js';
import { parseFilter } from '../filters.js';
import { isHandle } from '../handles.js';
import { bareJid } from '../jid.js';
import { parseHhMm } from '../quiet-hours.js';
import { parseRouteSpec, routeChoicesText, type PersonRoute } from '../routes.js';
import type { DigestPeriod } from '../types.js';
import { normalizeInputText } from '../input-text.js';
import { checkStatusText, quote } from './text.js';
import { CHANNEL_USAGE, USAGE, commandOf, type CommandName } from './usage.js';

/**
 * The chat grammar (SPEC section 2) as a pure function: text in, a typed command out, or a
 * DomainError whose sentence names the mistake and whose `usage` is the right form.
 * Chat adapters turn platform mentions into `@handle` before calling it.
 * Every regex here is linear (no nested quantifiers), so hostile input cannot make it hang.
 */

export type Target = { kind: 'source'; handle: string } | { kind: 'tag'; tag: string };
/** The routes a person names after `via` (`via dm+sms`), canonical order; `both` = dm + email. */
export type ChatRoute = PersonRoute[];
export type ChannelAction =
  | { action: 'follow'; handle: string }
  | { action: 'unfollow'; handle: string }
  | { action: 'list' }
  | { action: 'publish'; handle: string }
  | { action: 'unpublish' };

/** The arguments of each command. Indexing it by every CommandName makes a missing one a compile error. */
interface CommandArgs {
  post: { text: string };
  as: { handle: string; text: string };
  /** `route` null: a new follow goes to DMs, an existing one keeps its route. */
  follow: { target: Target; filters: string[]; route: ChatRoute | null };
  unfollow: { target: Target };
  track: { word: string };
  untrack: { word: string };
  /** `target` null: the global switch. */
  on: { target: Target | null };
  off: { target: Target | null };
  /** `minutes` null: since the person last switched off. */
  catchup: { minutes: number | null };
  following: object;
  followers: { handle: string | null };
  whois: { handle: string };
  find: { words: string[] };
  services: object;
  get: { handle: string };
  d: { handle: string; text: string };
  token: object;
  dm: { preference: 'slack' | 'teams' | 'both' };
  protect: { on: boolean };
  requests: object;
  approve: { handle: string };
  deny: { handle: string };
  block: { handle: string };
  quiet: { hours: { start: string; end: string; toDigest: boolean } | null };
  digest: { period: DigestPeriod; at: string | null };
  channel: ChannelAction;
  web: object;
  inputs: { handle: string };
  /** `link xmpp <jid>`: the bare JID, lowercased (SPEC section 8). */
  link: { jid: string };
  confirm: { code: string };
  /** `number` null with `off` false: show the number and its state. */
  phone: { number: string | null; off: boolean };
  help: { topic: CommandName | null };
}

export type ParsedCommandOf<N extends CommandName> = { name: N } & CommandArgs[N];
export type ParsedCommand = { [N in CommandName]: ParsedCommandOf<N> }[CommandName];

const POST_HINT = 'To post this text as a status, start it with "post".';
const TAG_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_-]{0,63}$/u;
const PERIOD_RE = /^(\d{1,4})([mhd])$/i;
const MAX_CATCHUP_MINUTES = 30 * 24 * 60;
const MAX_FILTERS = 20;

const fail = (name: CommandName, message: string, usage: string = USAGE[name].usage) => invalid(message, usage);

/** The first word and the rest (leading whitespace removed, everything else kept). */
function splitFirst(s: string): [string, string] {
  const m = /\s/.exec(s);
  return m ? [s.slice(0, m.index), s.slice(m.index).trimStart()] : [s, ''];
}

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w.length > 0);

/**
 * `@handle` -> `handle`. A bare word that could be a handle earns a "did you mean" when it stands
 * alone (`whois jane`); followed by more words it is more likely prose (`last the train`).
 */
function handleArg(name: CommandName, tok: string | undefined, usage: string = USAGE[name].usage, what = 'a @handle', alone = true): string {
  if (tok === undefined) throw fail(name, `"${name}" needs ${what}.`, usage);
  if (tok.startsWith('@')) {
    const h = tok.slice(1).toLowerCase();
    if (!isHandle(h)) throw fail(name, `${quote(tok)} is not a handle: handles are 1 to 32 lowercase letters, digits, - or _.`, usage);
    return h;
  }
  const bare = tok.toLowerCase();
  if (alone && isHandle(bare)) throw fail(name, `"${name}" needs ${what}; did you mean @${bare}?`, usage);
  throw fail(name, `"${name}" needs ${what}, not ${quote(tok)}.${alone ? '' : ` ${POST_HINT}`}`, usage);
}

function tagArg(name: CommandName, tok: string): Target {
  const tag = tok.slice(1).toLowerCase();
  if (!TAG_RE.test(tag)) throw fail(name, `${quote(tok)} is not a tag: a tag is # and a word of letters, digits, - or _.`);
  return { kind: 'tag', tag };
}

function targetArg(name: CommandName, tok: string | undefined, alone: boolean): Target {
  if (tok?.startsWith('#')) return tagArg(name, tok);
  return { kind: 'source', handle: handleArg(name, tok, USAGE[name].usage, 'a @handle or #tag', alone) };
}

/** One @handle and nothing else. */
function onlyHandle(name: CommandName, rest: string): string {
  const [tok, ...more] = words(rest);
  const h = handleArg(name, tok, USAGE[name].usage, 'a @handle', more.length === 0);
  if (more.length) throw fail(name, `"${name}" takes one @handle; remove ${quote(more.join(' '))}.`);
  return h;
}

function noArgs(name: CommandName, rest: string): object {
  if (rest) throw fail(name, `"${name}" takes nothing after it. ${POST_HINT}`);
  return {};
}

function textAfterHandle(name: 'as' | 'd', rest: string, what: string): { handle: string; text: string } {
  const [tok, text] = splitFirst(rest);
  const handle = handleArg(name, tok || undefined, USAGE[name].usage, name === 'as' ? 'a @service' : 'a @handle');
  return { handle, text: checkStatusText(text, USAGE[name].usage, what) };
}

function follow(rest: string): CommandArgs['follow'] {
  const toks = words(rest);
  const target = targetArg('follow', toks[0], toks.length === 1);
  const filters: string[] = [];
  let route: ChatRoute | null = null;
  for (let i = 1; i < toks.length; i++) {
    const tok = toks[i]!;
    if (tok.toLowerCase() === 'via') {
      // `via dm+sms`, also written `via dm + sms`: gather '+'-joined parts until the spec is complete.
      let spec = toks[++i] ?? '';
      for (let next = toks[i + 1]; next !== undefined; next = toks[i + 1]) {
        if (!spec.endsWith('+') && !(next.startsWith('+') && !next.startsWith('+#'))) break;
        spec += next;
        i++;
      }
      const choices = `${routeChoicesText()} (several joined with +, e.g. via dm+sms; both = dm+email)`;
      if (!spec) throw fail('follow', `"via" needs a route: ${choices}.`);
      const r = parseRouteSpec(spec);
      if (!r.ok) throw fail('follow', `${quote(r.bad || spec, 20)} is not a route: use ${choices}.`);
      if (route !== null && route.join('+') !== r.routes.join('+')) {
        throw fail('follow', 'Give one route list: via dm, via email, or several at once such as via dm+sms.');
      }
      route = r.routes;
    } else if (tok.startsWith('+') || tok.startsWith('-')) {
      if (tok.length > 66) throw fail('follow', `${quote(tok)} is too long for a filter.`);
      let f: string;
      try {
        f = parseFilter(tok);
      } catch (e) {
        if (e instanceof DomainError) throw fail('follow', e.message);
        throw e;
      }
      if (!filters.includes(f)) filters.push(f);
      if (filters.length > MAX_FILTERS) throw fail('follow', `A follow takes at most ${MAX_FILTERS} filters.`);
    } else if (tok.startsWith('@') || tok.startsWith('#')) {
      throw fail('follow', 'Follow one @handle or #tag at a time.');
    } else {
      throw fail('follow', `${quote(tok)} is not part of a follow: filters are +#tag, -word or -#tag, a route is via ${routeChoicesText()}, or several such as via dm+sms.`);
    }
  }
  return { target, filters, route };
}

function unfollow(rest: string): CommandArgs['unfollow'] {
  const [tok, ...more] = words(rest);
  if (tok !== undefined && !tok.startsWith('@') && !tok.startsWith('#') && TAG_RE.test(tok.toLowerCase())) {
    const w = tok.toLowerCase();
    const handle = isHandle(w) ? `"unfollow @${w}" for a source, or ` : '';
    throw fail('unfollow', `"unfollow" needs a @handle or #tag: write ${handle}"untrack ${w}" for a tracked word.`);
  }
  const target = targetArg('unfollow', tok, more.length === 0);
  if (more.length) throw fail('unfollow', 'Unfollow one @handle or #tag at a time.');
  return { target };
}

function trackWord(name: 'track' | 'untrack', rest: string): { word: string } {
  const [tok, ...more] = words(rest);
  if (tok === undefined) throw fail(name, `"${name}" needs a word.`);
  const instead = name === 'track' ? 'follow' : 'unfollow';
  if (tok.startsWith('#') || tok.startsWith('@')) {
    const t = tok.length <= 40 ? tok.toLowerCase() : tok.startsWith('#') ? '#tag' : '@handle';
    const kind = tok.startsWith('#') ? 'tag' : 'handle';
    throw fail(name, `${quote(tok)} is a ${kind}, not a word; to ${instead} a ${kind}, write "${instead} ${t}".`);
  }
  if (more.length) throw fail(name, `"${name}" takes one word at a time.`);
  const word = tok.toLowerCase();
  if (!TAG_RE.test(word)) throw fail(name, `${quote(tok)} is not a word: use letters, digits, - or _ (up to 64).`);
  return { word };
}

function switchArg(name: 'on' | 'off', rest: string): { target: Target | null } {
  const [tok, ...more] = words(rest);
  if (tok === undefined) return { target: null };
  if (!tok.startsWith('@') && !tok.startsWith('#')) {
    throw fail(name, `"${name}" takes nothing, or a @handle you follow. ${POST_HINT}`);
  }
  const target = targetArg(name, tok, more.length === 0);
  if (more.length) throw fail(name, `"${name}" takes one @handle at a time. ${POST_HINT}`);
  return { target };
}

function catchup(rest: string): CommandArgs['catchup'] {
  const [tok, ...more] = words(rest);
  if (tok === undefined) return { minutes: null };
  const m = PERIOD_RE.exec(tok);
  if (!m || more.length) throw fail('catchup', `${quote(rest)} is not a period: write it like 30m, 4h or 2d. ${POST_HINT}`);
  const minutes = Number(m[1]) * { m: 1, h: 60, d: 1440 }[m[2]!.toLowerCase() as 'm' | 'h' | 'd'];
  if (minutes < 1) throw fail('catchup', 'A catch-up period is at least 1 minute.');
  if (minutes > MAX_CATCHUP_MINUTES) throw fail('catchup', 'A catch-up reaches back at most 30 days (30d).');
  return { minutes };
}

function oneOf<T extends string>(name: CommandName, rest: string, choices: readonly T[]): T {
  const [tok, ...more] = words(rest);
  const w = tok?.toLowerCase();
  const listed = `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
  if (w === undefined) throw fail(name, `"${name}" needs ${listed}.`);
  if (!(choices as readonly string[]).includes(w) || more.length) {
    throw fail(name, `"${name}" takes ${listed}, not ${quote(rest)}. ${POST_HINT}`);
  }
  return w as T;
}

/** parseHhMm quotes what it was given: keep that short. */
function hhmm(name: CommandName, raw: string): string {
  if (raw.length > 5) throw fail(name, `${quote(raw)} is not a time of day; write it as HH:MM, e.g. 22:00.`);
  return parseHhMm(raw, USAGE[name].usage);
}

function quiet(rest: string): CommandArgs['quiet'] {
  // `quiet 22:00-07:00 to digest`: what arrives in quiet hours goes into the email digest instead of waiting.
  const toDigestRe = /\s+to\s+digest\s*$/i;
  const toDigest = toDigestRe.test(rest);
  const spec = words(rest.replace(toDigestRe, '')).join('');
  if (!spec) throw fail('quiet', '"quiet" needs a period such as 22:00-07:00, or off.');
  if (spec.toLowerCase() === 'off') {
    if (toDigest) throw fail('quiet', '"quiet off" takes nothing more.');
    return { hours: null };
  }
  const parts = spec.split(/[-–]/);
  if (parts.length !== 2) throw fail('quiet', `${quote(rest)} is not a period: write it as HH:MM-HH:MM, e.g. 22:00-07:00. ${POST_HINT}`);
  const start = hhmm('quiet', parts[0]!);
  const end = hhmm('quiet', parts[1]!);
  if (start === end) throw fail('quiet', 'Quiet hours need a start and an end that differ.');
  return { hours: { start, end, toDigest } };
}

function digest(rest: string): CommandArgs['digest'] {
  const [p, ...more] = words(rest);
  const period = oneOf<DigestPeriod>('digest', p ?? '', ['hourly', 'daily', 'weekly', 'off']);
  if (!more.length) return { period, at: null };
  if (more[0]!.toLowerCase() !== 'at' || more.length !== 2) {
    throw fail('digest', `After "digest ${period}" comes only "at HH:MM", not ${quote(more.join(' '))}.`);
  }
  if (period === 'off') throw fail('digest', 'A digest that is off has no time; write "digest off".');
  return { period, at: hhmm('digest', more[1]!) };
}

function channel(rest: string): ChannelAction {
  const [sub, tail] = splitFirst(rest);
  const action = sub.toLowerCase();
  switch (action) {
    case 'follow':
    case 'unfollow':
    case 'publish': {
      const usage = CHANNEL_USAGE[action];
      const [tok, ...more] = words(tail);
      const handle = handleArg('channel', tok, usage, action === 'publish' ? 'a @service' : 'a @handle', more.length === 0);
      if (more.length) throw fail('channel', `"channel ${action}" takes one @handle.`, usage);
      return { action, handle };
    }
    case 'list':
    case 'unpublish':
      if (tail) throw fail('channel', `"channel ${action}" takes nothing after it.`, CHANNEL_USAGE[action]);
      return { action };
    default:
      throw fail(
        'channel',
        sub
          ? `${quote(sub, 20)} is not a channel command; use follow, unfollow, list, publish or unpublish.`
          : '"channel" needs what to do: follow, unfollow, list, publish or unpublish.',
      );
  }
}

const MAX_FIND_WORDS = 8;

function findWords(rest: string): string[] {
  const ws = words(rest).map((w) => w.replace(/^[@#]/, '').toLowerCase()).filter((w) => w.length > 0);
  if (!ws.length) throw fail('find', '"find" needs words to look for, e.g. find build.');
  if (ws.length > MAX_FIND_WORDS) throw fail('find', `"find" takes at most ${MAX_FIND_WORDS} words.`);
  if (ws.some((w) => w.length > 64)) throw fail('find', 'A word to find is at most 64 characters.');
  return ws;
}

/** Words that take nothing: followed by more text they are prose (`web is down again` is a status). */
const PROSE_AFTER = new Set<CommandName>(['web', 'services']);

function link(rest: string): CommandArgs['link'] {
  const [kind, tok, ...more] = words(rest);
  if (kind?.toLowerCase() !== 'xmpp') throw fail('link', '"link" needs what to link: link xmpp <jid>.');
  if (tok === undefined) throw fail('link', '"link xmpp" needs the XMPP address, e.g. link xmpp alice@chat.example.com.');
  if (more.length) throw fail('link', 'Link one XMPP address at a time.');
  const jid = bareJid(tok);
  if (!jid) throw fail('link', `${quote(tok, 40)} is not an XMPP address: write it as name@domain.`);
  return { jid };
}

const CODE_RE = /^[A-Za-z0-9]{1,32}$/;

function confirm(rest: string): CommandArgs['confirm'] {
  if (!rest) throw fail('confirm', '"confirm" needs the code that "link xmpp" sent.');
  if (!CODE_RE.test(rest)) throw fail('confirm', `${quote(rest, 20)} is not a code: it is the digits that "link xmpp" sent.`);
  return { code: rest };
}

/**
 * `link` and `confirm` are commands only in their own shape: `link is down` and `confirm the room for
 * 3pm` are statuses (SPEC section 2: a command word counts only when its arguments parse).
 */
function isProse(name: CommandName, rest: string): boolean {
  if (name === 'link') return !/^xmpp(\s|$)/i.test(rest);
  if (name === 'confirm') return /\s/.test(rest);
  return false;
}

/** `phone +1 555 123 4567` -> `+15551234567`: E.164 only (SPEC section 9); spaces, dashes, dots and parentheses are ignored. */
function phone(rest: string): CommandArgs['phone'] {
  const arg = rest.trim();
  if (!arg) return { number: null, off: false };
  if (arg.toLowerCase() === 'off') return { number: null, off: true };
  const number = arg.length <= 40 ? arg.replace(/[\s().-]/g, '') : arg;
  if (!/^\+[1-9]\d{6,14}$/.test(number)) {
    throw fail('phone', `${quote(arg, 40)} is not a phone number in international form: write + and the country code, e.g. +15551234567.`);
  }
  return { number, off: false };
}

function help(rest: string): CommandArgs['help'] {
  const [tok] = words(rest);
  if (tok === undefined) return { topic: null };
  const topic = commandOf(tok);
  if (!topic) throw fail('help', `${quote(tok)} is not a command; "help" lists them all.`);
  return { topic };
}

const PARSERS: { [N in CommandName]: (rest: string) => CommandArgs[N] } = {
  post: (rest) => ({ text: checkStatusText(rest, USAGE.post.usage) }),
  as: (rest) => textAfterHandle('as', rest, 'A status'),
  follow,
  unfollow,
  track: (rest) => trackWord('track', rest),
  untrack: (rest) => trackWord('untrack', rest),
  on: (rest) => switchArg('on', rest),
  off: (rest) => switchArg('off', rest),
  catchup,
  following: (rest) => noArgs('following', rest),
  followers: (rest) => ({ handle: rest ? onlyHandle('followers', rest) : null }),
  whois: (rest) => ({ handle: onlyHandle('whois', rest) }),
  find: (rest) => ({ words: findWords(rest) }),
  services: (rest) => noArgs('services', rest),
  get: (rest) => ({ handle: onlyHandle('get', rest) }),
  d: (rest) => textAfterHandle('d', rest, 'A direct message'),
  token: (rest) => noArgs('token', rest),
  dm: (rest) => ({ preference: oneOf('dm', rest, ['slack', 'teams', 'both'] as const) }),
  protect: (rest) => ({ on: oneOf('protect', rest, ['on', 'off'] as const) === 'on' }),
  requests: (rest) => noArgs('requests', rest),
  approve: (rest) => ({ handle: onlyHandle('approve', rest) }),
  deny: (rest) => ({ handle: onlyHandle('deny', rest) }),
  block: (rest) => ({ handle: onlyHandle('block', rest) }),
  quiet,
  digest,
  channel,
  web: (rest) => noArgs('web', rest),
  inputs: (rest) => ({ handle: onlyHandle('inputs', rest) }),
  link,
  confirm,
  phone,
  help,
};

function parseAs<N extends CommandName>(name: N, rest: string): ParsedCommandOf<N> {
  return { name, ...PARSERS[name](rest) } as ParsedCommandOf<N>;
}

/**
 * Parses one chat message. Words are case-insensitive; text that does not start with a command word
 * (or an alias: leave, last) is a `post`. Throws a DomainError for every mistake.
 */
export function parseCommand(raw: string): ParsedCommand {
  const text = normalizeInputText(raw);
  if (!text) throw invalid('There is nothing here: write a status or a command.', USAGE.help.usage);
  const [first, rest] = splitFirst(text);
  const name = commandOf(first);
  if (!name || (PROSE_AFTER.has(name) && rest !== '') || isProse(name, rest)) return { name: 'post', text: checkStatusText(text, USAGE.post.usage) };
  return parseAs(name, rest) as ParsedCommand;
}
