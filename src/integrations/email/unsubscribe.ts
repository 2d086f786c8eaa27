import express, { type Request, type Response, type Router } from 'express';
import { eq } from 'drizzle-orm';
import { recordConsent } from '../../app/audit.js';
import type { AppContext } from '../../app/context.js';
import { sources } from '../../db/schema.js';
import { escapeHtml } from '../../core/html.js';
import { htmlDocument, PAGE_CSP } from '../../web/html-page.js';
import { unsubscribeKeys } from './unsubscribe-keys.js';
import { checkUnsubscribeToken } from './unsubscribe-token.js';

function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // The token is in the URL: keep it out of Referer headers and search indexes.
      'Referrer-Policy': 'no-referrer',
      'X-Robots-Tag': 'noindex',
      'Content-Security-Policy': PAGE_CSP,
    })
    .send(htmlDocument(title, `<h1 style="font-size:20px">${escapeHtml(title)}</h1>${body}`));
}

const RETIRED =
  '<p>This unsubscribe link no longer works: links of this age were signed with a key that could be guessed, or their time is over. Use the link in your next digest, or send <code>digest off</code> to Twitterprise in Slack or Teams.</p>';

const INVALID =
  '<p>This unsubscribe link is not valid: it may have been copied incompletely or changed. Use the link in your latest digest, or send <code>digest off</code> to Twitterprise in Slack or Teams.</p>';

/**
 * `GET /unsubscribe/:token` shows a confirmation page and changes nothing (mail scanners and link
 * previews fetch every URL in a mail). `POST /unsubscribe/:token` is the RFC 8058 one-click request
 * (body `List-Unsubscribe=One-Click`, sent by mail clients without cookies or login): it turns the
 * digest off and records the opt-out. The signed token alone authorises it.
 */
export function unsubscribeRouter(ctx: AppContext): Router {
  const router = express.Router();
  const log = ctx.log.child({ name: 'unsubscribe' });

  const resolve = async (req: Request, res: Response) => {
    const token = String(req.params.token ?? '');
    const claim = checkUnsubscribeToken(await unsubscribeKeys(ctx), token);
    if (!claim.ok) {
      if (claim.retired) page(res, 410, 'This unsubscribe link has expired', RETIRED);
      else page(res, 403, 'Invalid unsubscribe link', INVALID);
      return null;
    }
    const [person] = await ctx.db
      .select({ id: sources.id, handle: sources.handle, digestPeriod: sources.digestPeriod })
      .from(sources)
      .where(eq(sources.id, claim.personId));
    if (!person) {
      page(res, 404, 'Unknown subscriber', '<p>This link belongs to an account that no longer exists, so nothing is sent to it.</p>');
      return null;
    }
    return { person };
  };

  router.get('/unsubscribe/:token', async (req, res) => {
    const found = await resolve(req, res);
    if (!found) return;
    const { person } = found;
    if (person.digestPeriod === 'off') {
      page(res, 200, 'Digest already off', `<p>The email digest for @${escapeHtml(person.handle)} is off. Send <code>digest daily</code> to Twitterprise to turn it on again.</p>`);
      return;
    }
    page(
      res,
      200,
      'Unsubscribe from the Twitterprise digest?',
      `<p>This turns off the ${escapeHtml(person.digestPeriod)} email digest for @${escapeHtml(person.handle)}. Your follows stay as they are; Slack and Teams messages are not affected.</p>` +
        // No action: the form posts back to this very URL, whatever prefix PUBLIC_URL has.
        '<form method="post">' +
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">' +
        '<button type="submit" style="font-size:16px;padding:8px 16px">Unsubscribe</button></form>',
    );
  });

  router.post('/unsubscribe/:token', express.urlencoded({ extended: false, limit: '1kb' }), async (req, res) => {
    const found = await resolve(req, res);
    if (!found) return;
    const now = ctx.clock.now();
    const previous = await ctx.db.transaction(async (tx) => {
      const [row] = await tx.select({ digestPeriod: sources.digestPeriod }).from(sources).where(eq(sources.id, found.person.id)).for('update');
      if (!row || row.digestPeriod === 'off') return null;
      await tx.update(sources).set({ digestPeriod: 'off' }).where(eq(sources.id, found.person.id));
      await recordConsent(tx, {
        actorId: null,
        action: 'unsubscribe',
        subjectId: found.person.id,
        object: 'digest',
        via: 'email',
        detail: { previous: row.digestPeriod, oneClick: (req.body as Record<string, unknown> | undefined)?.['List-Unsubscribe'] === 'One-Click' },
        at: now,
      });
      return row.digestPeriod;
    });
    if (previous) log.info({ personId: found.person.id, previous }, 'digest unsubscribed by link');
    page(
      res,
      200,
      'Unsubscribed',
      `<p>The email digest for @${escapeHtml(found.person.handle)} is off${previous ? '' : ' (it already was)'}. Send <code>digest daily</code> to Twitterprise in Slack or Teams to turn it on again.</p>`,
    );
  });

  return router;
}
