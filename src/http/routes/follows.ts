import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { decideFollowRequest, follow, followsOf, getFollow, pendingRequests, removeFollow, resolveTarget, switchFollow, type Subscriber } from '../../app/follows.js';
import { requireOwnWebhook, webhooksOf } from '../../app/webhooks.js';
import { conflict, forbidden, invalid, notFound } from '../../core/errors.js';
import { DEFAULT_ROUTE, formatRoutes, parseRouteSpec, PERSON_ROUTES } from '../../core/routes.js';
import type { FollowRoute } from '../../core/types.js';
import { actorOf, ownPerson, ownSource, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import { parseInput } from '../problem.js';
import { followViews } from '../views.js';

const ROUTE_MESSAGE = `${PERSON_ROUTES.map((r) => `"${r}"`).join(', ')}, "both", several joined with + ("dm+sms") or a list (["dm", "sms"])`;

const followBody = z.strictObject({
  target: z.string({ message: 'must be "@handle", "#tag" or a word' }).min(1).max(100),
  // A person's routes: one name, several joined with '+' ("dm+sms"), or a list (["dm", "sms"]); "both" = dm+email.
  route: z
    .union([z.string().min(1).max(40), z.array(z.string().min(1).max(16)).min(1).max(8)], {
      message: `must be ${ROUTE_MESSAGE}`,
    })
    .optional(),
  webhook: z.string().min(1).max(64).optional(),
  filters: z.array(z.string().max(70), { message: 'must be a list such as ["+#deploy", "-flaky"]' }).max(20).optional(),
});

const idParam = z.string().min(1).max(64);

/** The person routes a body names, canonical; a problem naming the bad part otherwise. */
function bodyRoute(route: string | string[] | undefined): FollowRoute {
  if (route === undefined) return DEFAULT_ROUTE;
  const r = parseRouteSpec(route);
  if (!r.ok) throw invalid(`Field "route": ${JSON.stringify(r.bad).slice(0, 40)} is not a route; it must be ${ROUTE_MESSAGE}.`);
  return formatRoutes(r.routes);
}

const switchBody = z.strictObject({
  state: z.enum(['on', 'off', 'active'], { message: 'must be "on" or "off"' }),
});

export function followRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/follows', async (req, res) => {
    const p = principalOf(res);
    const body = parseInput(followBody, req.body, 'body');
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
    res.status(result.created ? 201 : 200).json(view);
  });

  r.get('/follows', async (req, res) => {
    const q = parseInput(pageQuery, req.query, 'query');
    const me = ownSource(principalOf(res), 'list follows of its own');
    const subs: Subscriber[] = (await webhooksOf(ctx, me.id)).map((w) => ({ kind: 'webhook', id: w.id }));
    if (me.kind === 'person') subs.unshift({ kind: 'person', id: me.id });
    const page = await followsOf(ctx, subs, q);
    res.json({ items: await followViews(ctx.db, page.items), next: page.next });
  });

  /** The follow `:id`, if the caller may change it: their own, their webhook's, or any for an admin. */
  async function ownFollow(req: Request, res: Response) {
    const id = parseInput(idParam, req.params.id, 'path');
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

  r.delete('/follows/:id', async (req, res) => {
    const { f, actor } = await ownFollow(req, res);
    await removeFollow(ctx, f, actor.id, 'api');
    res.status(204).end();
  });

  // The API form of `on @handle` / `off @handle`: every subscription can be switched on and off.
  r.patch('/follows/:id', async (req, res) => {
    const { f, actor } = await ownFollow(req, res);
    const body = parseInput(switchBody, req.body, 'body');
    const row = await switchFollow(ctx, f, body.state === 'on' || body.state === 'active', actor.id, 'api');
    const [view] = await followViews(ctx.db, [row]);
    res.json(view);
  });

  r.get('/follow-requests', async (req, res) => {
    const q = parseInput(pageQuery, req.query, 'query');
    const p = principalOf(res);
    const page = await pendingRequests(ctx, { id: p.source?.id ?? '', isAdmin: p.isAdmin }, q);
    res.json({ items: await followViews(ctx.db, page.items), next: page.next });
  });

  for (const decision of ['approve', 'deny'] as const) {
    r.post(`/follows/:id/${decision}`, async (req, res) => {
      const followId = parseInput(idParam, req.params.id, 'path');
      const before = await getFollow(ctx.db, followId);
      const out = await decideFollowRequest(ctx, { actor: actorOf(principalOf(res)), followId, decision, via: 'api' });
      if (!out.changed && decision === 'deny') throw conflict('That follow request was already approved; the follower can be blocked instead.');
      const row = out.follow ?? before;
      const [view] = row ? await followViews(ctx.db, [row]) : [];
      res.json({ ...view, state: decision === 'deny' ? 'denied' : (out.follow?.state ?? 'active'), requester: out.requester, changed: out.changed });
    });
  }

  return r;
}
