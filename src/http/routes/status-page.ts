import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { getStatus } from '../../app/statuses.js';
import { escapeHtml } from '../../core/html.js';
import type { StatusView } from '../../core/messages.js';
import { parseInput } from '../problem.js';

const idParam = z.string().min(1).max(64);

/** Nobody is signed in on a page opened from a link: only what anyone may see is shown. */
const anonymous = { id: null, isAdmin: false };

function page(v: StatusView, publicUrl: string): string {
  const who = `${v.source.name} (@${v.source.handle})`;
  const title = `${who}: ${v.text.split('\n')[0]!.slice(0, 80)}`;
  const feed = `${publicUrl}/feeds/${encodeURIComponent(v.source.handle)}.atom`;
  return (
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${escapeHtml(title)}</title><link rel="alternate" type="application/atom+xml" href="${escapeHtml(feed)}"></head>` +
    `<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">` +
    `<p><strong>${escapeHtml(v.source.name)}</strong> @${escapeHtml(v.source.handle)}</p>` +
    `<p style="font-size:1.2rem;white-space:pre-wrap">${escapeHtml(v.text)}</p>` +
    `<p><time datetime="${escapeHtml(v.created_at)}">${escapeHtml(v.created_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</time> · ` +
    `<a href="${escapeHtml(feed)}">feed of @${escapeHtml(v.source.handle)}</a></p></body></html>`
  );
}

/**
 * `GET /statuses/:id`: where a status's `url` points (chat messages, digests, feeds, webhooks). A link is
 * opened without a token, so it shows public statuses to anyone, as a page or, asked for JSON, as the API's
 * shape; a protected, deleted or unknown one is the same 404, which reveals nothing. With a token,
 * `GET /api/v1/statuses/:id` shows whatever the token may see.
 */
export function statusPageRoutes(ctx: AppContext): Router {
  const r = Router();
  r.get('/statuses/:id', async (req, res) => {
    const id = parseInput(idParam, req.params.id, 'path');
    const { view } = await getStatus(ctx, id, anonymous);
    // A status can be deleted or its source protected at any moment: caches must ask again every time.
    res.setHeader('Cache-Control', 'no-cache');
    res.vary('Accept');
    if (req.accepts(['html', 'json']) === 'json') res.json(view);
    else res.type('html').send(page(view, ctx.config.publicUrl));
  });
  return r;
}
