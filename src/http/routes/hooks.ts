import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { postStatus } from '../../app/statuses.js';
import { authenticateHook } from '../../app/tokens.js';
import { formText, jsonBody, textBody } from '../../web/body-limit.js';
import { HttpProblem } from '../problem.js';
import { noStatusLimit, type StatusLimiter } from '../rate-limit.js';
import { route } from '../route.js';
import { statusSchema } from '../schemas.js';
import { createdStatusHeaders, idempotencyHeaders, idempotencyKey } from './statuses.js';

export const hookJson = z.object({ text: z.string({ message: 'must be a string (the status text)' }) });
export const hookText = z.string().meta({ description: 'The status text, 1 to 1,000 characters', example: 'Build 4711 passed' });
export const hookForm = z.string().meta({ description: 'A form: its `text` field, else the whole body decoded (`curl -d "deploy done"`)', example: 'text=Build+4711+passed' });
export const hookParams = z.object({ token: z.string().meta({ description: 'The secret of the hook URL (`POST /api/v1/services/{handle}/hooks` makes one)' }) });

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

  // The token and the budget are checked before the body is read.
  const authorise: RequestHandler = async (req, res, next) => {
    const hook = await authenticateHook(ctx, String(req.params.token ?? ''));
    await limiter.take(res, `hook:${hook.tokenId}`);
    res.locals.hook = hook;
    next();
  };

  route(
    r,
    {
      method: 'post',
      path: '/:token',
      operationId: 'postToHook',
      summary: 'Post a status through an incoming hook',
      description: 'The token in the URL alone authorises posting as its service: send `text/plain`, a form (`text=...`), or JSON `{"text": "..."}`. Counted against `STATUS_RATE_LIMIT` per hook.',
      tags: ['public'],
      auth: 'path-token',
      before: [authorise, textBody(), formText(), jsonBody()],
      request: { params: hookParams, headers: idempotencyHeaders, content: { 'text/plain': hookText, 'application/x-www-form-urlencoded': hookForm, 'application/json': hookJson }, bodyRequired: false },
      responses: { 201: { description: 'The status', body: statusSchema, headers: createdStatusHeaders } },
      problems: [401, 415, 422, 429],
    },
    async ({ body }, req, res) => {
      const { tokenId, service } = res.locals.hook as Awaited<ReturnType<typeof authenticateHook>>;
      let text: string;
      if (typeof body === 'string') text = req.is('application/x-www-form-urlencoded') ? formStatusText(body) : body;
      else if (body !== undefined) text = body.text;
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
      res.location(status.url);
      return { status: 201, body: status };
    },
  );

  return r;
}
