import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { postStatus } from '../../app/statuses.js';
import { authenticateHook } from '../../app/tokens.js';
import { formText, jsonBody, textBody } from '../../web/body-limit.js';
import { HttpProblem, parseInput } from '../problem.js';
import { noStatusLimit, type StatusLimiter } from '../rate-limit.js';
import { idempotencyKey } from './statuses.js';

const hookJson = z.object({ text: z.string({ message: 'must be a string (the status text)' }) });

/**
 * A form body's status text: its `text` field when there is one (`curl -d 'text=deploy done'`), else
 * the whole body decoded (`curl -d 'deploy done'`, which curl sends as a form). A body that is not
 * valid %-encoding (`deploy 100% done`) is taken as written.
 */
export function formStatusText(raw: string): string {
  const fields = new URLSearchParams(raw);
  const text = fields.get('text');
  if (text !== null) return text;
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** `POST /hooks/:token`: the token alone authorises posting as its service (SPEC section 3). */
export function hookRoutes(ctx: AppContext, limiter: StatusLimiter = noStatusLimit): Router {
  const r = Router();

  r.post(
    '/:token',
    async (req, res, next) => {
      const hook = await authenticateHook(ctx, String(req.params.token ?? ''));
      await limiter.take(res, `hook:${hook.tokenId}`);
      res.locals.hook = hook;
      next();
    },
    textBody(),
    formText(),
    jsonBody(),
    async (req, res) => {
      const { tokenId, service } = res.locals.hook as Awaited<ReturnType<typeof authenticateHook>>;
      let text: string;
      if (typeof req.body === 'string') text = req.is('application/x-www-form-urlencoded') ? formStatusText(req.body) : req.body;
      else if (req.body !== undefined) text = parseInput(hookJson, req.body, 'body').text;
      else if (!req.headers['content-type'] || req.is(['text/*', 'application/x-www-form-urlencoded', 'application/json', 'application/*+json'])) text = '';
      else throw new HttpProblem('unsupported_media_type', 'Send the status as text/plain, as a form (text=...), or as JSON {"text": "..."}.');
      if (text.includes('\u0000')) throw new HttpProblem('invalid', 'The text may not contain NUL characters.');
      const key = idempotencyKey(req);
      const { status, created } = await postStatus(ctx, {
        sourceId: service.id,
        authorId: null,
        text,
        platform: 'hook',
        dedupeKey: key ? `hook:${tokenId}:${key}` : undefined,
      });
      if (!created) res.setHeader('Idempotent-Replayed', 'true');
      res.status(201).location(status.url).json(status);
    },
  );

  return r;
}
