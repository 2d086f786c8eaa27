import { Router, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { decideFollowRequest, follow, followsOf, getFollow, pendingRequests, removeFollow, resolveTarget, switchFollow, type Subscriber } from '../../app/follows.js';
import { requireOwnWebhook, webhooksOf } from '../../app/webhooks.js';
import { conflict, forbidden, invalid, notFound } from '../../core/errors.js';
import { DEFAULT_ROUTE, formatRoutes, parseRouteSpec, PERSON_ROUTES } from '../../core/routes.js';
import type { FollowRoute } from '../../core/types.js';
import { actorOf, ownPerson, ownSource, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import { route } from '../route.js';
import { followSchema, pageOf } from '../schemas.js';
import { followViews } from '../views.js';

const ROUTE_MESSAGE = `${PERSON_ROUTES.map((r) => `"${r}"`).join(', ')}, "both", several joined with + ("dm+sms") or a list (["dm", "sms"])`;

export const followBody = z.strictObject({
  target: z.string({ message: 'must be "@handle", "#tag" or a word' }).min(1).max(100).meta({ description: 'A source (`@build`), a tag (`#deploy`) or a word', example: '@build' }),
  // A person's routes: one name, several joined with '+' ("dm+sms"), or a list (["dm", "sms"]); "both" = dm+email.
  route: z
    .union([z.string().min(1).max(40), z.array(z.string().min(1).max(16)).min(1).max(8)], {
      message: `must be ${ROUTE_MESSAGE}`,
    })
    .optional(),
  webhook: z.string().min(1).max(64).optional(),
  filters: z.array(z.string().max(70), { message: 'must be a list such as ["+#deploy", "-flaky"]' }).max(20).optional(),
});

export const followIdParams = z.object({ id: z.string().min(1).max(64).meta({ description: 'The follow id' }) });

/** The person routes a body names, canonical; a problem naming the bad part otherwise. */
function bodyRoute(route: string | string[] | undefined): FollowRoute {
  if (route === undefined) return DEFAULT_ROUTE;
  const r = parseRouteSpec(route);
  if (!r.ok) throw invalid(`Field "route": ${JSON.stringify(r.bad).slice(0, 40)} is not a route; it must be ${ROUTE_MESSAGE}.`);
  return formatRoutes(r.routes);
}

export const switchBody = z.strictObject({
  state: z.enum(['on', 'off', 'active'], { message: 'must be "on" or "off"' }),
});

export const followPageSchema = pageOf(followSchema, 'FollowPage');

export const decisionSchema = followSchema
  .partial()
  .extend({
    state: z.enum(['active', 'pending', 'off', 'denied']).meta({ description: 'What the follow is now (`denied`: it was removed)' }),
    requester: z.string().meta({ description: 'Who asked', example: '@jane' }),
    changed: z.boolean().meta({ description: 'false when it had already been decided' }),
  })
  .meta({ id: 'FollowDecision' });

export function followRoutes(ctx: AppContext): Router {
  const r = Router();
  const tags = ['follows'] as const;

  route(
    r,
    {
      method: 'post',
      path: '/follows',
      operationId: 'createFollow',
      summary: 'Follow a source, a tag or a word',
      description:
        'The token\'s person follows (by `route`: `dm`, `email`, `sms`, `xmpp`, several joined with `+` or as a list), or, with `webhook`, one of its webhook endpoints does. ' +
        'A protected source makes the follow `pending` until an owner approves. Following again answers 200 with the follow as it is.',
      tags,
      request: { body: followBody },
      responses: {
        201: { description: 'The new follow (`active`, or `pending` for a protected source)', body: followSchema },
        200: { description: 'Already followed: the follow as it is', body: followSchema },
      },
      problems: [403, 404, 409, 422, 429],
    },
    async ({ body }, _req, res) => {
      const p = principalOf(res);
      const actor = actorOf(p);
      let subscriber: Subscriber;
      let route: FollowRoute;
      if (body.webhook !== undefined) {
        if (body.route !== undefined && body.route !== 'webhook') throw invalid('With "webhook", the endpoint follows and the route is always "webhook"; leave "route" out.');
        const w = await requireOwnWebhook(ctx, actor, body.webhook);
        subscriber = { kind: 'webhook', id: w.id };
        route = 'webhook';
      } else {
        if (body.route === 'webhook') throw invalid('"route": "webhook" needs "webhook": "<webhook endpoint id>".');
        const me = ownPerson(p, 'follow for itself; give "webhook": "<id>" to have one of its webhook endpoints follow');
        subscriber = { kind: 'person', id: me.id };
        route = bodyRoute(body.route);
      }
      const target = await resolveTarget(ctx, body.target);
      const result = await follow(ctx, { subscriber, actor, target, route, filters: body.filters, via: 'api' });
      const [view] = await followViews(ctx.db, [result.follow]);
      return result.created ? { status: 201, body: view! } : { status: 200, body: view! };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/follows',
      operationId: 'listFollows',
      summary: "The token owner's follows and its webhook endpoints'",
      tags,
      request: { query: pageQuery },
      responses: { 200: { description: 'A page of follows', body: followPageSchema } },
      problems: [422],
    },
    async ({ query }, _req, res) => {
      const me = ownSource(principalOf(res), 'list follows of its own');
      const subs: Subscriber[] = (await webhooksOf(ctx, me.id)).map((w) => ({ kind: 'webhook', id: w.id }));
      if (me.kind === 'person') subs.unshift({ kind: 'person', id: me.id });
      const page = await followsOf(ctx, subs, query);
      return { status: 200, body: { items: await followViews(ctx.db, page.items), next: page.next } };
    },
  );

  /** The follow `id`, if the caller may change it: their own, their webhook's, or any for an admin. */
  async function ownFollow(id: string, res: Response) {
    const actor = actorOf(principalOf(res));
    const f = await getFollow(ctx.db, id);
    if (!f) throw notFound(`No follow ${id}.`);
    if (!actor.isAdmin) {
      if (f.subscriberKind === 'webhook') await requireOwnWebhook(ctx, actor, f.subscriberId);
      else if (!(f.subscriberKind === 'person' && f.subscriberId === actor.id)) {
        throw forbidden(f.subscriberKind === 'channel' ? 'A channel follow is changed from the channel: channel unfollow @handle.' : 'This follow is not yours.');
      }
    }
    return { f, actor };
  }

  route(
    r,
    {
      method: 'delete',
      path: '/follows/:id',
      operationId: 'deleteFollow',
      summary: 'Unfollow',
      description: 'Also withdraws a pending request.',
      tags,
      request: { params: followIdParams },
      responses: { 204: { description: 'Ended' } },
      problems: [403, 404],
    },
    async ({ params }, _req, res) => {
      const { f, actor } = await ownFollow(params.id, res);
      await removeFollow(ctx, f, actor.id, 'api');
      return { status: 204 };
    },
  );

  // The API form of `on @handle` / `off @handle`: every subscription can be switched on and off.
  route(
    r,
    {
      method: 'patch',
      path: '/follows/:id',
      operationId: 'switchFollow',
      summary: 'Switch a follow on or off',
      tags,
      request: { params: followIdParams, body: switchBody },
      responses: { 200: { description: 'The follow as it is now', body: followSchema } },
      problems: [403, 404, 422],
    },
    async ({ params, body }, _req, res) => {
      const { f, actor } = await ownFollow(params.id, res);
      const row = await switchFollow(ctx, f, body.state === 'on' || body.state === 'active', actor.id, 'api');
      const [view] = await followViews(ctx.db, [row]);
      return { status: 200, body: view! };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/follow-requests',
      operationId: 'listFollowRequests',
      summary: 'Pending follows of the sources the token\'s owner owns',
      description: 'All pending requests for an admin.',
      tags,
      request: { query: pageQuery },
      responses: { 200: { description: 'A page of pending follows', body: followPageSchema } },
    },
    async ({ query }, _req, res) => {
      const p = principalOf(res);
      const page = await pendingRequests(ctx, { id: p.source?.id ?? '', isAdmin: p.isAdmin }, query);
      return { status: 200, body: { items: await followViews(ctx.db, page.items, { requests: true }), next: page.next } };
    },
  );

  for (const decision of ['approve', 'deny'] as const) {
    route(
      r,
      {
        method: 'post',
        path: `/follows/:id/${decision}`,
        operationId: decision === 'approve' ? 'approveFollowRequest' : 'denyFollowRequest',
        summary: decision === 'approve' ? 'Approve a follow request' : 'Deny a follow request',
        description: 'An owner of the followed source, or an admin. The requester is told.',
        tags,
        request: { params: followIdParams },
        responses: { 200: { description: 'The decision', body: decisionSchema } },
        problems: [403, 404, 409],
      },
      async ({ params }, _req, res) => {
        const followId = params.id;
        const before = await getFollow(ctx.db, followId);
        const out = await decideFollowRequest(ctx, { actor: actorOf(principalOf(res)), followId, decision, via: 'api' });
        if (!out.changed && decision === 'deny') throw conflict('That follow request was already approved; the follower can be blocked instead.');
        const row = out.follow ?? before;
        const [view] = row ? await followViews(ctx.db, [row]) : [];
        return { status: 200, body: { ...view, state: decision === 'deny' ? 'denied' : (out.follow?.state ?? 'active'), requester: out.requester, changed: out.changed } };
      },
    );
  }

  return r;
}
