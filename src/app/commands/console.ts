import { queryWords, searchDirectory, type DirectoryEntry } from '../directory.js';
import { createSignInLink } from '../sessions.js';
import { listReply, type Handler } from './handler.js';

const LIST_LIMIT = 50;

const entryLine = (e: DirectoryEntry) => {
  const facts = [e.kind, ...(e.visibility === 'protected' ? ['protected'] : []), ...(e.followState === 'active' || e.followState === 'off' ? ['you follow'] : e.followState === 'pending' ? ['requested'] : [])];
  return `@${e.handle}: ${e.name} (${facts.join(', ')})`;
};

/** `web`: a one-time sign-in link to the console, answered privately and without a link preview. */
export const web: Handler<'web'> = async ({ ctx, actor }) => {
  const { url } = await createSignInLink(ctx, actor);
  return {
    text: `Your sign-in link to the Twitterprise console, for you only: it works once, within 10 minutes.\n${url}`,
    noPreview: true,
  };
};

/** `find <words>`: people and services whose handle or name holds every word. */
export const find: Handler<'find'> = async ({ ctx, actor }, cmd) => {
  const { items, next } = await searchDirectory(ctx, actor.id, { q: cmd.words.join(' '), limit: LIST_LIMIT });
  const what = queryWords(cmd.words.join(' ')).join(' ');
  if (!items.length) return { text: `Nobody and no service matches "${what}". Try fewer words, or "services" for every service.` };
  const lines = items.map(entryLine);
  if (next) lines.push('…and more: add a word to narrow the search.');
  return listReply(`Matching "${what}":`, lines);
};

/** `services`: every service, to follow with `follow @service`. */
export const services: Handler<'services'> = async ({ ctx, actor }) => {
  const { items, next } = await searchDirectory(ctx, actor.id, { kind: 'service', limit: LIST_LIMIT });
  if (!items.length) return { text: 'There are no services yet.' };
  const lines = items.map(entryLine);
  if (next) lines.push(`…and more: "find <words>" narrows the list, and the console's directory shows them all.`);
  return listReply('Services (follow one with: follow @service):', lines);
};
