import { createHash } from 'node:crypto';
import { parseFeed } from 'feedsmith';
import type { FeedItem, ParsedFeed } from '../../core/inputs.js';
import { decodeDocument, UnreadableDocument } from './decode.js';

/**
 * RSS 2.0, RSS 1.0 (RDF), Atom 1.0 and JSON Feed 1.x, read by feedsmith and normalised into our one
 * item shape. Identity (SPEC section 7): the item's id/guid, else its link, else a hash of its title
 * and content; a date is never part of it (a feed that bumps dates must not repost).
 */

type Loose = Record<string, unknown>;
const str = (v: unknown): string | null => {
  if (typeof v === 'string') return v.trim() || null;
  if (v && typeof v === 'object' && typeof (v as Loose).value === 'string') return str((v as Loose).value);
  return null;
};
const arr = (v: unknown): Loose[] => (Array.isArray(v) ? (v as Loose[]) : []);
const dateOf = (v: unknown): Date | null => {
  const s = str(v);
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
};
/** A title may be HTML (Atom type="html", JSON content_html as a fallback): plain text for a status. */
const plain = (s: string | null): string =>
  (s ?? '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
const httpLink = (s: string | null): string | null => (s && /^https?:\/\//i.test(s) ? s : null);

function atomLink(links: unknown): string | null {
  const all = arr(links);
  const alt = all.find((l) => !l.rel || l.rel === 'alternate') ?? null;
  return httpLink(str(alt?.href));
}

interface Raw {
  id: string | null;
  link: string | null;
  title: string;
  content: string;
  date: Date | null;
}

function itemsOf(format: string, feed: Loose): { home: string | null; raw: Raw[] } {
  switch (format) {
    case 'rss':
      return {
        home: httpLink(str(feed.link)),
        raw: arr(feed.items).map((i) => ({
          id: str(i.guid),
          link: httpLink(str(i.link)),
          title: plain(str(i.title)),
          content: `${str(i.description) ?? ''}${str((i.content as Loose | undefined)?.encoded) ?? ''}`,
          date: dateOf(i.pubDate),
        })),
      };
    case 'rdf':
      return {
        home: httpLink(str(feed.link)),
        raw: arr(feed.items).map((i) => ({
          id: str((i.rdf as Loose | undefined)?.about),
          link: httpLink(str(i.link)),
          title: plain(str(i.title)),
          content: str(i.description) ?? '',
          date: dateOf((i.dc as Loose | undefined)?.date ?? (i.dc as Loose | undefined)?.dates),
        })),
      };
    case 'atom':
      return {
        home: atomLink(feed.links),
        raw: arr(feed.entries).map((e) => ({
          id: str(e.id),
          link: atomLink(e.links),
          title: plain(str(e.title)),
          content: `${str(e.summary) ?? ''}${str(e.content) ?? ''}`,
          date: dateOf(e.published) ?? dateOf(e.updated),
        })),
      };
    case 'json':
      return {
        home: httpLink(str(feed.home_page_url)),
        raw: arr(feed.items).map((i) => ({
          id: str(typeof i.id === 'number' ? String(i.id) : i.id),
          link: httpLink(str(i.url)),
          title: plain(str(i.title)) || plain(str(i.summary)) || plain(str(i.content_text)).slice(0, 200) || plain(str(i.content_html)).slice(0, 200),
          content: `${str(i.content_text) ?? ''}${str(i.content_html) ?? ''}`,
          date: dateOf(i.date_published),
        })),
      };
    default:
      throw new UnreadableDocument(`unsupported feed format ${format}`);
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 32);

export function identityOf(r: Pick<Raw, 'id' | 'link' | 'title' | 'content'>): string {
  if (r.id) return sha(`id\n${r.id}`);
  if (r.link) return sha(`link\n${r.link}`);
  return sha(`hash\n${r.title}\n${r.content}`);
}

/** Parses a fetched document; throws UnreadableDocument with a sentence for `last_error`. */
export function parseFeedDocument(body: Buffer, contentType?: string): ParsedFeed {
  const text = decodeDocument(body, contentType).replace(/^\uFEFF/, '');
  const trimmed = text.trimStart();
  let input: string | object = text;
  if (trimmed.startsWith('{')) {
    try {
      input = JSON.parse(trimmed) as object;
    } catch (e) {
      throw new UnreadableDocument(`the JSON feed is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
  } else if (!trimmed.startsWith('<')) {
    throw new UnreadableDocument('the document is not an RSS, Atom or JSON feed');
  }
  let parsed: { format: string; feed: unknown };
  try {
    parsed = parseFeed(input) as { format: string; feed: unknown };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new UnreadableDocument(/unrecognized/i.test(why) ? 'the document is not an RSS, Atom or JSON feed' : `the feed could not be parsed (${why})`);
  }
  const { home, raw } = itemsOf(parsed.format, (parsed.feed ?? {}) as Loose);
  const seen = new Set<string>();
  const items: FeedItem[] = [];
  for (const r of raw) {
    const key = identityOf(r);
    if (seen.has(key)) continue;
    seen.add(key);
    items.push({ key, id: r.id, link: r.link, title: r.title, date: r.date });
  }
  return { home, items };
}
