import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { searchDirectory } from '../../app/directory.js';
import { principalOf } from '../auth.js';
import { MAX_PAGE } from '../pagination.js';
import { route } from '../route.js';

/** `GET /api/v1/sources?q=&kind=&limit=&before=`: the directory (SPEC section 3). */
export const sourcesQuery = z.object({
  q: z.string().max(200, 'must be at most 200 characters').optional(),
  kind: z.enum(['person', 'service'], { message: 'must be "person" or "service"' }).optional(),
  limit: z.coerce.number({ message: 'must be a whole number from 1 to 100' }).int('must be a whole number from 1 to 100').min(1, 'must be a whole number from 1 to 100').max(MAX_PAGE, 'must be a whole number from 1 to 100').default(20),
  before: z.string().min(1).max(64).optional(),
});

export const directoryEntry = z.object({
  handle: z.string(),
  name: z.string(),
  kind: z.enum(['person', 'service']),
  visibility: z.enum(['public', 'protected']),
  /** The page of the source in the console (`/@handle`). */
  url: z.string(),
  /** The token owner's follow of it: active, pending (a request), off, or null. */
  following: z.enum(['active', 'pending', 'off']).nullable(),
});

export const sourcesResponse = z.object({ items: z.array(directoryEntry), next: z.string().nullable() }).meta({ id: 'DirectoryPage' });

export function directoryRoutes(ctx: AppContext): Router {
  const r = Router();
  route(
    r,
    {
      method: 'get',
      path: '/sources',
      operationId: 'searchSources',
      summary: 'The directory',
      description:
        "Every source the token's owner may see, matched by handle and name (`q`), newest first. Protected ones are listed with their visibility; their statuses are not shown.",
      tags: ['sources'],
      request: { query: sourcesQuery },
      responses: { 200: { description: 'A page of sources', body: sourcesResponse } },
    },
    async ({ query }, _req, res) => {
      const p = principalOf(res);
      const page = await searchDirectory(ctx, p.source?.id ?? null, query);
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
