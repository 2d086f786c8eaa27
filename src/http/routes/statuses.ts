import { Router, type Request } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { requireSource, type SourceRow } from '../../app/people.js';
import { requireActAs } from '../../app/services.js';
import { deleteStatus, getStatus, postStatus } from '../../app/statuses.js';
import { invalid } from '../../core/errors.js';
import { actorOf, principalOf } from '../auth.js';
import { parseInput } from '../problem.js';
import { noStatusLimit, type StatusLimiter } from '../rate-limit.js';

const postBody = z.strictObject({
  text: z.string({ message: 'must be a string (the status text, 1 to 1,000 characters)' }),
  as: z.string({ message: 'must be a handle such as "build"' }).min(1).max(40).optional(),
});

export const idParam = z.string().min(1).max(64);

/**
 * `Idempotency-Key` (IETF httpapi draft): a retried POST with the same key from the same token
 * creates one status and answers the first answer again.
 */
export function idempotencyKey(req: Request): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw invalid('The Idempotency-Key header must be 1 to 255 visible ASCII characters.');
  }
  return key;
}

export function statusRoutes(ctx: AppContext, limiter: StatusLimiter = noStatusLimit): Router {
  const r = Router();

  r.post('/statuses', async (req, res) => {
    const p = principalOf(res);
    await limiter.take(res, `tok:${p.tokenId}`);
    const body = parseInput(postBody, req.body, 'body');
    const key = idempotencyKey(req);
    let source: SourceRow;
    if (body.as !== undefined) {
      source = await requireSource(ctx, body.as);
      await requireActAs(ctx, { id: p.source?.id ?? '', isAdmin: p.isAdmin }, source);
    } else if (p.source) {
      source = p.source;
    } else {
      throw invalid('The admin token has no source of its own: say whom to post as with "as": "handle".');
    }
    const { status, created } = await postStatus(ctx, {
      sourceId: source.id,
      authorId: p.source?.kind === 'person' ? p.source.id : null,
      text: body.text,
      platform: 'api',
      dedupeKey: key ? `tok:${p.tokenId}:${key}` : undefined,
    });
    if (!created) res.setHeader('Idempotent-Replayed', 'true');
    res.status(201).location(status.url).json(status);
  });

  r.get('/statuses/:id', async (req, res) => {
    const id = parseInput(idParam, req.params.id, 'path');
    const { view } = await getStatus(ctx, id, actorOf(principalOf(res)));
    res.json(view);
  });

  r.delete('/statuses/:id', async (req, res) => {
    const id = parseInput(idParam, req.params.id, 'path');
    await deleteStatus(ctx, actorOf(principalOf(res)), id);
    res.status(204).end();
  });

  return r;
}
