import { Router } from 'express';
import type { AppContext } from '../../app/context.js';
import { getStatus } from '../../app/statuses.js';
import { DomainError } from '../../core/errors.js';
import { escapeHtml } from '../../core/html.js';
import type { StatusView } from '../../core/messages.js';
import { htmlDocument, PAGE_CSP } from '../../web/html-page.js';
import { parseInput } from '../problem.js';
import { idParam } from './statuses.js';

/** Nobody is signed in on a page opened from a link: only what anyone may see is shown. */
const anonymous = { id: null, isAdmin: false };

const NOT_HERE = htmlDocument(
  'Status not found',
  '<h1 style="font-size:20px">This status is not here</h1><p>It was deleted, or it is not public: a protected source\'s statuses are read ' +
    'where they were sent to you (Slack, Teams, your digest) or with <code>get @handle</code>, never on an open page.</p>',
);

function page(v: StatusView, publicUrl: string): string {
  const who = `${v.source.name} (@${v.source.handle})`;
  const title = `${who}: ${v.text.split('\n')[0]!.slice(0, 80)}`;
  const feed = `${publicUrl}/feeds/${encodeURIComponent(v.source.handle)}.atom`;
  return htmlDocument(
    title,
    `<p><strong>${escapeHtml(v.source.name)}</strong> @${escapeHtml(v.source.handle)}</p>` +
      `<p style="font-size:1.2rem;white-space:pre-wrap">${escapeHtml(v.text)}</p>` +
      `<p><time datetime="${escapeHtml(v.created_at)}">${escapeHtml(v.created_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</time> · ` +
      `<a href="${escapeHtml(feed)}">feed of @${escapeHtml(v.source.handle)}</a></p>`,
    `<link rel="alternate" type="application/atom+xml" href="${escapeHtml(feed)}">`,
  );
}

/**
 * `GET /statuses/:id`: where a status's `url` points (chat messages, digests, feeds, webhooks). A link is
 * opened without a token, so it shows public statuses to anyone, as a page or, asked for JSON, as the API's
 * shape; a protected, deleted or unknown one is the same 404 (a page that says why, or problem+json),
 * which reveals nothing. With a token,
 * `GET /api/v1/statuses/:id` shows whatever the token may see.
 */
export function statusPageRoutes(ctx: AppContext): Router {
  const r = Router();
  r.get('/statuses/:id', async (req, res) => {
    // A status can be deleted or its source protected at any moment: caches must ask again every time.
    res.set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': PAGE_CSP });
    res.vary('Accept');
    // A browser asks for HTML first; anything else (curl's */*, an app) gets JSON and problem+json.
    const html = req.accepts(['json', 'html']) === 'html';
    const id = parseInput(idParam, req.params.id, 'path');
    let view: StatusView;
    try {
      ({ view } = await getStatus(ctx, id, anonymous));
    } catch (err) {
      if (!(html && err instanceof DomainError && err.code === 'not_found')) throw err;
      res.status(404).type('html').send(NOT_HERE);
      return;
    }
    if (html) res.type('html').send(page(view, ctx.config.publicUrl));
    else res.json(view);
  });
  return r;
}
