import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { searchDirectory } from '../../app/directory.js';
import { principalOf } from '../auth.js';
import { MAX_PAGE } from '../pagination.js';
import { route } from '../route.js';

const limitMessage = 'must be a whole number from 1 to 100';

/** `GET /api/v1/sources?q=&kind=&limit=&before=`: the directory (SPEC section 3). */
export const sourcesQuery = z.object({
  q: z.string().max(200, 'must be at most 200 characters').optional().meta({ description: 'Words matched against handles and names; every word must match', example: 'build' }),
  kind: z.enum(['person', 'service'], { message: 'must be "person" or "service"' }).optional(),
  limit: z.coerce.number({ message: limitMessage }).int(limitMessage).min(1, limitMessage).max(MAX_PAGE, limitMessage).default(20),
  before: z.string().min(1).max(64).optional().meta({ description: 'The `next` cursor of the previous page' }),
});

export const directoryEntry = z.object({
  handle: z.string(),
  name: z.string(),
  kind: z.enum(['person', 'service']),
  visibility: z.enum(['public', 'protected']),
  url: z.string().meta({ description: "The source's page (`/@handle`)" }),
  following: z.enum(['active', 'pending', 'off']).nullable().meta({ description: "The token owner's follow of it (pending: a request), or null" }),
});

export const sourcesResponse = z.object({ items: z.array(directoryEntry), next: z.string().nullable() });

export function directoryRoutes(ctx: AppContext): Router {
  const r = Router();
  route(
    r,
    {
      method: 'get',
      path: '/sources',
      operationId: 'listSources',
      summary: 'The directory',
      description:
        'Every person and service the token owner may see, matched by handle and name, ordered by handle. Protected sources are listed with their visibility; their statuses are not shown here.',
      tags: ['sources'],
      request: { query: sourcesQuery },
      responses: { 200: { description: 'A page of sources', body: sourcesResponse } },
    },
    async ({ query }, _req, res) => {
      const page = await searchDirectory(ctx, principalOf(res).source?.id ?? null, query);
      return {
        status: 200,
        body: {
          items: page.items.map((e) => ({
            handle: e.handle,
            name: e.name,
            kind: e.kind,
            visibility: e.visibility,
            url: `${ctx.config.publicUrl}/@${e.handle}`,
            following: e.followState,
          })),
          next: page.next,
        },
      };
    },
  );
  return r;
}
