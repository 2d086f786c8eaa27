import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { postStatus } from '../../app/statuses.js';
import { authenticateHook } from '../../app/tokens.js';
import { jsonBody, textBody } from '../../web/body-limit.js';
import { HttpProblem, parseInput } from '../problem.js';
import { noStatusLimit, type StatusLimiter } from '../rate-limit.js';
import { idempotencyKey } from './statuses.js';

const hookJson = z.object({ text: z.string({ message: 'must be a string (the status text)' }) });

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
    jsonBody(),
    async (req, res) => {
      const { tokenId, service } = res.locals.hook as Awaited<ReturnType<typeof authenticateHook>>;
      let text: string;
      if (typeof req.body === 'string') text = req.body;
      else if (req.body !== undefined) text = parseInput(hookJson, req.body, 'body').text;
      else if (!req.headers['content-type'] || req.is(['text/*', 'application/json', 'application/*+json'])) text = '';
      else throw new HttpProblem('unsupported_media_type', 'Send the status as text/plain, or as JSON {"text": "..."}.');
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
