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
  /** The source it acts as: "@alice", "@build". */
  subject: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});

export const tokensResponse = z.object({ items: z.array(tokenEntry), next: z.string().nullable() }).meta({ id: 'TokenPage' });

/** `DELETE /api/v1/tokens/:id` -> 204. */
export const tokenIdParam = z.string().min(1).max(64);

export function tokenRoutes(ctx: AppContext): Router {
  const r = Router();

  route(
    r,
    {
      method: 'get',
      path: '/tokens',
      operationId: 'listTokens',
      summary: "The token owner's tokens and its services'",
      description: 'Id, subject, created, last used, expiry; never a secret.',
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
      description: "One of the token owner's own (or its services'); an admin, any.",
      tags: ['admin'],
      request: { params: z.object({ id: tokenIdParam }) },
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
