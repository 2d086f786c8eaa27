import { Router } from 'express';
import { Feed } from 'feed';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { requireSource, type SourceRow } from '../../app/people.js';
import { canViewSource, sourceTimeline } from '../../app/statuses.js';
import { authenticate } from '../../app/tokens.js';
import { forbidden, unauthenticated } from '../../core/errors.js';
import type { StatusView } from '../../core/messages.js';
import { actorOf } from '../auth.js';
import { escapeHtml } from '../../core/html.js';
import { route } from '../route.js';

const FEED_ITEMS = 50;

const contentTypes = {
  atom: 'application/atom+xml; charset=utf-8',
  rss: 'application/rss+xml; charset=utf-8',
  json: 'application/feed+json; charset=utf-8',
} as const;

const titleOf = (text: string) => {
  const line = text.split('\n')[0] ?? '';
  return [...line].length > 80 ? `${[...line].slice(0, 79).join('')}…` : line;
};


/** Status text is plain text; the feed package writes titles and content as HTML, so escape it (and keep line breaks). */
const asHtml = (text: string) => escapeHtml(text).replace(/\n/g, '<br>');

interface JsonFeedItem {
  id: string;
  title?: string;
  content_html?: string;
  content_text?: string;
  summary?: string;
}

/** JSON Feed 1.1, as far as the document promises it (the rest is the standard's: https://jsonfeed.org/version/1.1). */
const jsonFeedSchema = z.looseObject({
  version: z.string().meta({ example: 'https://jsonfeed.org/version/1' }),
  title: z.string(),
  items: z.array(z.looseObject({ id: z.string(), content_text: z.string().optional() })).optional(),
});
type JsonFeed = z.infer<typeof jsonFeedSchema> & { items?: JsonFeedItem[] };

const formats = {
  atom: { name: 'Atom', schema: z.string().meta({ description: 'An Atom 1.0 feed' }) },
  rss: { name: 'RSS', schema: z.string().meta({ description: 'An RSS 2.0 feed' }) },
  json: { name: 'JSON Feed', schema: jsonFeedSchema.meta({ description: 'A JSON Feed' }) },
} as const;

const feedParams = z.object({ handle: z.string().meta({ description: 'The source, with or without `@`', example: 'build' }) });
const feedQuery = z.object({ token: z.string().optional().meta({ description: 'For a protected source: an API token of its owner, an approved follower or an admin' }) });

function render(ctx: AppContext, source: SourceRow, items: StatusView[], format: keyof typeof contentTypes, token: string | undefined): string | JsonFeed {
  const base = `${ctx.config.publicUrl}/feeds/${source.handle}`;
  // Self links of a protected feed carry its token, as the reader was given it.
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  const feed = new Feed({
    id: `${base}.atom`,
    title: `${source.name} (@${source.handle})`,
    description: `Statuses of @${source.handle} on Twitterprise`,
    // The source's page a reader can open (GET /@:handle; a protected one asks the reader to sign in).
    link: `${ctx.config.publicUrl}/@${source.handle}`,
    updated: items[0] ? new Date(items[0].created_at) : source.createdAt,
    generator: 'Twitterprise',
    feedLinks: { atom: `${base}.atom${q}`, rss: `${base}.rss${q}`, json: `${base}.json${q}` },
    copyright: '',
    author: { name: source.name },
  });
  const html = format !== 'json';
  for (const s of items) {
    feed.addItem({
      title: html ? escapeHtml(titleOf(s.text)) : titleOf(s.text),
      id: s.url,
      link: s.url,
      date: new Date(s.created_at),
      description: html ? asHtml(s.text) : s.text,
      content: html ? asHtml(s.text) : s.text,
      author: [{ name: `${s.source.name} (@${s.source.handle})` }],
      category: s.entities.tags.map((t) => ({ name: t, term: t })),
    });
  }
  if (format === 'atom') return feed.atom1();
  if (format === 'rss') return feed.rss2();
  // JSON Feed has a plain-text field: use it instead of presenting the text as HTML.
  const json = JSON.parse(feed.json1()) as JsonFeed;
  for (const item of json.items ?? []) {
    item.content_text = item.content_html ?? '';
    delete item.content_html;
    delete item.summary;
  }
  return json;
}

/**
 * `GET /feeds/:handle.atom|.rss|.json`. A protected source's feed needs `?token=` of someone allowed
 * to see it (feed readers cannot send headers): 401 without, 403 with a token that is not allowed.
 */
export function feedRoutes(ctx: AppContext): Router {
  const r = Router();

  for (const format of ['atom', 'rss', 'json'] as const) {
    const f = formats[format];
    route(
      r,
      {
        method: 'get',
        path: `/:handle.${format}`,
        operationId: `getFeed${format[0]!.toUpperCase()}${format.slice(1)}`,
        summary: `A source's statuses as ${f.name}`,
        description: `The latest ${FEED_ITEMS}. A protected source's feed needs \`?token=\` (feed readers cannot send headers): 401 without, 403 with a token whose owner may not see it.`,
        tags: ['public'],
        auth: 'feed-token',
        request: { params: feedParams, query: feedQuery },
        responses: { 200: { description: `The ${f.name} feed`, content: { [contentTypes[format].split(';')[0]!]: f.schema } } },
        problems: [401, 403, 404],
      },
      async ({ params, query }, _req, res) => {
        const source = await requireSource(ctx, params.handle);
        const rawToken = query.token || undefined;
        let viewer: { id: string | null; isAdmin: boolean } = { id: null, isAdmin: false };
        if (source.visibility === 'protected') {
          if (!rawToken) throw unauthenticated(`@${source.handle} is protected: add ?token=<your API token> to the feed URL.`);
          viewer = actorOf(await authenticate(ctx, rawToken));
          if (!(await canViewSource(ctx, source, viewer))) {
            throw forbidden(`@${source.handle} is protected: this token's owner is not an approved follower.`);
          }
        }
        const { items } = await sourceTimeline(ctx, source, viewer, { limit: FEED_ITEMS });
        res.setHeader('Cache-Control', source.visibility === 'protected' ? 'private, no-store' : 'public, max-age=60');
        return { status: 200, body: render(ctx, source, items, format, source.visibility === 'protected' ? rawToken : undefined), type: contentTypes[format] };
      },
    );
  }

  return r;
}
