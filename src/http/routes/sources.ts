import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { requireSource } from '../../app/people.js';
import { canViewSource, homeTimeline, sourceTimeline } from '../../app/statuses.js';
import { forbidden } from '../../core/errors.js';
import { actorOf, ownSource, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import { route } from '../route.js';
import { statusPageSchema } from '../schemas.js';

export const handleParams = z.object({ handle: z.string().meta({ description: 'A handle, with or without `@`', example: 'build' }) });

export function sourceRoutes(ctx: AppContext): Router {
  const r = Router();

  route(
    r,
    {
      method: 'get',
      path: '/sources/:handle/statuses',
      operationId: 'listSourceStatuses',
      summary: "A source's timeline",
      description: 'Newest first. A protected source\'s statuses are shown to its owners, approved followers and admins.',
      tags: ['sources'],
      request: { params: handleParams, query: pageQuery },
      responses: { 200: { description: 'A page of statuses', body: statusPageSchema } },
      problems: [403, 404],
    },
    async ({ params, query }, _req, res) => {
      const source = await requireSource(ctx, params.handle);
      const viewer = actorOf(principalOf(res));
      if (!(await canViewSource(ctx, source, viewer))) {
        throw forbidden(`@${source.handle} is protected: only its owners and approved followers may read its statuses.`);
      }
      return { status: 200, body: await sourceTimeline(ctx, source, viewer, query) };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/timeline',
      operationId: 'getHomeTimeline',
      summary: 'The home timeline',
      description: "Statuses of what the token's owner follows, newest first.",
      tags: ['statuses'],
      request: { query: pageQuery },
      responses: { 200: { description: 'A page of statuses', body: statusPageSchema } },
      problems: [422],
    },
    async ({ query }, _req, res) => {
      const me = ownSource(principalOf(res), 'have a home timeline');
      return { status: 200, body: await homeTimeline(ctx, me.id, query) };
    },
  );

  return r;
}
