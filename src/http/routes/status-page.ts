import { Router } from 'express';
import type { AppContext } from '../../app/context.js';
import { getStatus } from '../../app/statuses.js';
import { DomainError } from '../../core/errors.js';
import { escapeHtml } from '../../core/html.js';
import type { StatusView } from '../../core/messages.js';
import { htmlDocument, PAGE_CSP } from '../../web/html-page.js';
import { z } from 'zod';
import { route } from '../route.js';
import { statusSchema } from '../schemas.js';
import { statusIdParams } from './statuses.js';

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
const html = z.string().meta({ description: 'An HTML page' });

export function statusPageRoutes(ctx: AppContext): Router {
  const r = Router();
  route(
    r,
    {
      method: 'get',
      path: '/statuses/:id',
      operationId: 'getStatusPage',
      summary: 'The public page of a status',
      description:
        'Where a status\'s `url` points. Without a token: a public status as an HTML page (for a browser) or JSON (`Accept: application/json`); ' +
        'a protected, deleted or unknown one is the same 404, which reveals nothing. With a token, use `GET /api/v1/statuses/{id}`.',
      tags: ['public'],
      auth: 'none',
      request: { params: statusIdParams },
      responses: {
        200: { description: 'The status', body: statusSchema, content: { 'text/html': html } },
        404: { description: 'Not here: deleted, not public, or unknown (a page for a browser, a problem otherwise)', content: { 'text/html': html } },
      },
      problems: [404],
    },
    async ({ params }, req, res) => {
      // A status can be deleted or its source protected at any moment: caches must ask again every time.
      res.set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': PAGE_CSP });
      res.vary('Accept');
      // A browser asks for HTML first; anything else (curl's */*, an app) gets JSON and problem+json.
      const wantsHtml = req.accepts(['json', 'html']) === 'html';
      let view: StatusView;
      try {
        ({ view } = await getStatus(ctx, params.id, anonymous));
      } catch (err) {
        if (!(wantsHtml && err instanceof DomainError && err.code === 'not_found')) throw err;
        return { status: 404, body: NOT_HERE, type: 'html' };
      }
      if (wantsHtml) return { status: 200, body: page(view, ctx.config.publicUrl), type: 'html' };
      return { status: 200, body: view };
    },
  );
  return r;
}
