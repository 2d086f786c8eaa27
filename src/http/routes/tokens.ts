import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { listTokens, revokeOwnToken } from '../../app/tokens.js';
import { actorOf, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import { route } from '../route.js';

/** `GET /api/v1/tokens`: the token owner's tokens and its services' (never a secret). */
export const tokensQuery = pageQuery;

export const tokenEntry = z.object({
  id: z.string(),
  kind: z.enum(['api', 'hook']),
  subject: z.string().meta({ description: 'The source it acts as', example: '@build' }),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});

export const tokensResponse = z.object({ items: z.array(tokenEntry), next: z.string().nullable() });

/** `DELETE /api/v1/tokens/:id` -> 204. */
export const tokenIdParams = z.object({ id: z.string().min(1).max(64) });

export function tokenRoutes(ctx: AppContext): Router {
  const r = Router();

  route(
    r,
    {
      method: 'get',
      path: '/tokens',
      operationId: 'listTokens',
      summary: "The token owner's tokens",
      description: "API tokens and incoming-hook tokens of the token's owner and of the services it owns (the admin token: every one), newest first. Never the secret.",
      tags: ['admin'],
      request: { query: tokensQuery },
      responses: { 200: { description: 'A page of tokens', body: tokensResponse } },
    },
    async ({ query }, _req, res) => {
      const page = await listTokens(ctx, actorOf(principalOf(res)), query);
      return {
        status: 200,
        body: {
          items: page.items.map((t) => ({
            id: t.id,
            kind: t.kind,
            subject: `@${t.subject}`,
            created_at: t.createdAt.toISOString(),
            last_used_at: t.lastUsedAt?.toISOString() ?? null,
            expires_at: t.expiresAt?.toISOString() ?? null,
          })),
          next: page.next,
        },
      };
    },
  );

  route(
    r,
    {
      method: 'delete',
      path: '/tokens/:id',
      operationId: 'revokeToken',
      summary: 'Revoke a token',
      description: 'Its owner (or an owner of its service, or an admin) revokes it; it stops working at once.',
      tags: ['admin'],
      request: { params: tokenIdParams },
      responses: { 204: { description: 'Revoked' } },
      problems: [403, 404],
    },
    async ({ params }, _req, res) => {
      await revokeOwnToken(ctx, actorOf(principalOf(res)), params.id);
      return { status: 204 };
    },
  );

  return r;
}
