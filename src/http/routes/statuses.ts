import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { requireSource, type SourceRow } from '../../app/people.js';
import { requireActAs } from '../../app/services.js';
import { deleteStatus, getStatus, postStatus } from '../../app/statuses.js';
import { invalid } from '../../core/errors.js';
import { actorOf, principalOf } from '../auth.js';
import { noStatusLimit, type StatusLimiter } from '../rate-limit.js';
import { route } from '../route.js';
import { statusSchema } from '../schemas.js';

export const postStatusBody = z.strictObject({
  text: z.string({ message: 'must be a string (the status text, 1 to 1,000 characters)' }).meta({ description: '1 to 1,000 characters', example: 'Deployed v2.3 to production #deploy' }),
  as: z.string({ message: 'must be a handle such as "build"' }).min(1).max(40).optional().meta({ description: 'Post as this service (its owners and admins may)', example: 'build' }),
});

export const idParam = z.string().min(1).max(64);
export const statusIdParams = z.object({ id: idParam.meta({ description: 'The status id' }) });

/** `Idempotency-Key`: 1 to 255 visible ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/)
  .meta({ description: 'A retried call with the same key from the same token creates one status and answers the first answer again (201, `Idempotent-Replayed: true`).', example: 'deploy-4711' });

export const idempotencyHeaders = z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() });

/** What a 201 with a new (or replayed) status carries besides the body. */
export const createdStatusHeaders = z.object({
  Location: z.string().meta({ description: 'The status page' }),
  'Idempotent-Replayed': z.literal('true').optional().meta({ description: 'Present when this answers a repeat of an earlier Idempotency-Key' }),
});

/**
 * `Idempotency-Key` (IETF httpapi draft): a retried POST with the same key from the same token
 * creates one status and answers the first answer again.
 */
export function idempotencyKey(req: Request): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!idempotencyKeySchema.safeParse(key).success) {
    throw invalid('The Idempotency-Key header must be 1 to 255 visible ASCII characters.');
  }
  return key;
}

export function statusRoutes(ctx: AppContext, limiter: StatusLimiter = noStatusLimit): Router {
  const r = Router();

  // The budget is taken before the body is read, as for hooks.
  const budget: RequestHandler = async (_req, res, next) => {
    await limiter.take(res, `tok:${principalOf(res).tokenId}`);
    next();
  };

  route(
    r,
    {
      method: 'post',
      path: '/statuses',
      operationId: 'createStatus',
      summary: 'Post a status',
      description: 'As the token\'s own source, or `as` a service the token\'s person may post for. Counted against `STATUS_RATE_LIMIT` per token.',
      tags: ['statuses'],
      before: [budget],
      request: { body: postStatusBody, headers: idempotencyHeaders },
      responses: { 201: { description: 'The status (also for a repeated Idempotency-Key)', body: statusSchema, headers: createdStatusHeaders } },
      problems: [403, 404, 422, 429],
    },
    async ({ body }, req, res) => {
      const p = principalOf(res);
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
        source,
        authorId: p.source?.kind === 'person' ? p.source.id : null,
        text: body.text,
        platform: 'api',
        dedupeKey: key ? `tok:${p.tokenId}:${key}` : undefined,
      });
      if (!created) res.setHeader('Idempotent-Replayed', 'true');
      res.location(status.url);
      return { status: 201, body: status };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/statuses/:id',
      operationId: 'getStatus',
      summary: 'Read one status',
      tags: ['statuses'],
      request: { params: statusIdParams },
      responses: { 200: { description: 'The status', body: statusSchema } },
      problems: [404],
    },
    async ({ params }, _req, res) => {
      const { view } = await getStatus(ctx, params.id, actorOf(principalOf(res)));
      return { status: 200, body: view };
    },
  );

  route(
    r,
    {
      method: 'delete',
      path: '/statuses/:id',
      operationId: 'deleteStatus',
      summary: 'Delete a status',
      description: 'Its author, its source\'s owners or an admin. Afterwards GET answers 404, and webhooks get `status.deleted`.',
      tags: ['statuses'],
      request: { params: statusIdParams },
      responses: { 204: { description: 'Deleted' } },
      problems: [403, 404],
    },
    async ({ params }, _req, res) => {
      await deleteStatus(ctx, actorOf(principalOf(res)), params.id);
      return { status: 204 };
    },
  );

  return r;
}
