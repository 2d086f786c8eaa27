import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { listTokens, revokeOwnToken } from '../../app/tokens.js';
import { actorOf, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import { parseInput } from '../problem.js';

/** `GET /api/v1/tokens`: the token owner's tokens and its services' (never a secret). */
export const tokensQuery = pageQuery;

export const tokenEntry = z.object({
  id: z.string(),
  kind: z.enum(['api', 'hook']),
  /** The source it acts as: "@alice", "@build". */
  subject: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});

export const tokensResponse = z.object({ items: z.array(tokenEntry), next: z.string().nullable() });

/** `DELETE /api/v1/tokens/:id` -> 204. */
export const tokenIdParam = z.string().min(1).max(64);

export function tokenRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/tokens', async (req, res) => {
    const q = parseInput(tokensQuery, req.query, 'query');
    const page = await listTokens(ctx, actorOf(principalOf(res)), q);
    const body: z.infer<typeof tokensResponse> = {
      items: page.items.map((t) => ({
        id: t.id,
        kind: t.kind,
        subject: `@${t.subject}`,
        created_at: t.createdAt.toISOString(),
        last_used_at: t.lastUsedAt?.toISOString() ?? null,
        expires_at: t.expiresAt?.toISOString() ?? null,
      })),
      next: page.next,
    };
    res.json(body);
  });

  r.delete('/tokens/:id', async (req, res) => {
    await revokeOwnToken(ctx, actorOf(principalOf(res)), parseInput(tokenIdParam, req.params.id, 'path'));
    res.status(204).end();
  });

  return r;
}
