import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import {
  createWebhook,
  deleteWebhook,
  deliveriesOf,
  deliveriesToPerson,
  requireOwnDelivery,
  requireOwnWebhook,
  updateWebhook,
  webhooksOf,
  type DestinationCheck,
} from '../../app/webhooks.js';
import { actorOf, ownPerson, ownSource, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import type { PipelineApi } from '../pipeline-api.js';
import { route } from '../route.js';
import { deliverySchema, pageOf, webhookSchema } from '../schemas.js';
import { deliveryView, webhookView } from '../views.js';

const filterList = z
  .array(z.string().max(70), { message: 'must be a list such as ["+#deploy", "-flaky"]' })
  .max(20)
  .meta({ description: 'Only statuses passing these filters are sent', example: ['+#deploy', '-flaky'] });

export const createWebhookBody = z.strictObject({
  url: z.string({ message: 'must be the endpoint URL (https://...)' }).min(1).meta({ description: 'Where events are POSTed; private and loopback addresses are refused unless ALLOW_PRIVATE_URLS', example: 'https://ci.example.com/hooks/twitterprise' }),
  description: z.string().max(500).optional(),
  filter: filterList.optional(),
});

export const patchWebhookBody = z.strictObject({
  url: z.string().min(1).optional(),
  description: z.string().max(500).optional(),
  filter: filterList.optional(),
  enabled: z.boolean({ message: 'must be true or false' }).optional().meta({ description: 'true re-enables an endpoint that was disabled' }),
});

export const webhookIdParams = z.object({ id: z.string().min(1).max(64).meta({ description: 'The webhook endpoint id' }) });
export const deliveryIdParams = z.object({ id: z.string().min(1).max(64).meta({ description: 'The delivery id' }) });

export const createdWebhookSchema = webhookSchema
  .extend({ secret: z.string().meta({ description: 'The signing secret (`whsec_...`), shown only in this answer', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) })
  .meta({ id: 'CreatedWebhook' });
export const webhookPageSchema = pageOf(webhookSchema, 'WebhookPage');
export const deliveryPageSchema = pageOf(deliverySchema, 'DeliveryPage');
export const deliveryAccepted = z.object({ delivery_id: z.string() }).meta({ id: 'DeliveryAccepted' });

/** `GET /deliveries`: the token owner's own deliveries; `?state=` narrows them (e.g. `failed`). */
export const ownDeliveriesQuery = pageQuery.extend({
  state: deliverySchema.shape.state.optional().meta({ description: 'Only deliveries in this state' }),
});
/** Its answer: a page of deliveries (the same shape as a webhook endpoint's log). */
export const ownDeliveriesResponse = deliveryPageSchema;

export function webhookRoutes(ctx: AppContext, deps: { pipeline: PipelineApi; checkDestination: DestinationCheck }): Router {
  const r = Router();
  const tags = ['webhooks'] as const;

  route(
    r,
    {
      method: 'post',
      path: '/webhooks',
      operationId: 'createWebhook',
      summary: 'Create a webhook endpoint',
      description: 'Nothing is sent to it on creation (use `POST /webhooks/{id}/test`). Have it follow with `POST /follows` and `"webhook": "<id>"`.',
      tags,
      request: { body: createWebhookBody },
      responses: { 201: { description: 'The endpoint, with its secret (this once)', body: createdWebhookSchema, headers: z.object({ Location: z.string() }) } },
      problems: [422],
    },
    async ({ body }, _req, res) => {
      const owner = ownSource(principalOf(res), 'own a webhook endpoint');
      const w = await createWebhook(ctx, { ownerId: owner.id, url: body.url, description: body.description, filter: body.filter }, deps.checkDestination);
      // The secret is shown this once (SPEC section 3).
      res.location(`${ctx.config.publicUrl}/api/v1/webhooks/${w.id}`);
      return { status: 201, body: { ...webhookView(w), secret: w.secret } };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/webhooks',
      operationId: 'listWebhooks',
      summary: "The token owner's webhook endpoints",
      tags,
      responses: { 200: { description: 'All of them (`next` is always null)', body: webhookPageSchema } },
      problems: [422],
    },
    async (_input, _req, res) => {
      const owner = ownSource(principalOf(res), 'own webhook endpoints');
      return { status: 200, body: { items: (await webhooksOf(ctx, owner.id)).map(webhookView), next: null } };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/webhooks/:id',
      operationId: 'getWebhook',
      summary: 'One webhook endpoint',
      tags,
      request: { params: webhookIdParams },
      responses: { 200: { description: 'The endpoint (never its secret)', body: webhookSchema } },
      problems: [403, 404],
    },
    async ({ params }, _req, res) => {
      const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), params.id);
      return { status: 200, body: webhookView(w) };
    },
  );

  route(
    r,
    {
      method: 'patch',
      path: '/webhooks/:id',
      operationId: 'updateWebhook',
      summary: 'Change a webhook endpoint',
      tags,
      request: { params: webhookIdParams, body: patchWebhookBody },
      responses: { 200: { description: 'The endpoint as it is now', body: webhookSchema } },
      problems: [403, 404, 422],
    },
    async ({ params, body }, _req, res) => {
      const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), params.id);
      return { status: 200, body: webhookView(await updateWebhook(ctx, w, body, deps.checkDestination)) };
    },
  );

  route(
    r,
    {
      method: 'delete',
      path: '/webhooks/:id',
      operationId: 'deleteWebhook',
      summary: 'Delete a webhook endpoint',
      description: 'Its follows end with it.',
      tags,
      request: { params: webhookIdParams },
      responses: { 204: { description: 'Deleted' } },
      problems: [403, 404],
    },
    async ({ params }, _req, res) => {
      const actor = actorOf(principalOf(res));
      const w = await requireOwnWebhook(ctx, actor, params.id);
      await deleteWebhook(ctx, w, actor.id, 'api');
      return { status: 204 };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/webhooks/:id/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: "A webhook endpoint's delivery log",
      tags,
      request: { params: webhookIdParams, query: pageQuery },
      responses: { 200: { description: 'A page of deliveries, newest first', body: deliveryPageSchema } },
      problems: [403, 404],
    },
    async ({ params, query }, _req, res) => {
      const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), params.id);
      const page = await deliveriesOf(ctx, w.id, query);
      return { status: 200, body: { items: page.items.map(deliveryView), next: page.next } };
    },
  );

  route(
    r,
    {
      method: 'post',
      path: '/webhooks/:id/test',
      operationId: 'testWebhook',
      summary: 'Send a `webhook.test` event now',
      tags,
      request: { params: webhookIdParams },
      responses: { 202: { description: 'Queued; follow it in the delivery log', body: deliveryAccepted } },
      problems: [403, 404],
    },
    async ({ params }, _req, res) => {
      const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), params.id);
      const { deliveryId } = await deps.pipeline.sendTestEvent(w.id);
      return { status: 202, body: { delivery_id: deliveryId } };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/deliveries',
      operationId: 'listOwnDeliveries',
      summary: 'Your own deliveries',
      description:
        "Every delivery to the token's person (direct messages, channel posts, digest entries, SMS, XMPP), newest first, of the last `DELIVERY_RETENTION_DAYS` (90 by default; older finished ones are deleted). A webhook endpoint's deliveries are under `GET /webhooks/{id}/deliveries`.",
      tags,
      request: { query: ownDeliveriesQuery },
      responses: { 200: { description: 'A page of deliveries, newest first', body: ownDeliveriesResponse } },
      problems: [422],
    },
    async ({ query }, _req, res) => {
      const person = ownPerson(principalOf(res), 'list its own deliveries');
      const page = await deliveriesToPerson(ctx, person.id, query);
      return { status: 200, body: { items: page.items.map(deliveryView), next: page.next } };
    },
  );

  route(
    r,
    {
      method: 'post',
      path: '/deliveries/:id/redeliver',
      operationId: 'redeliver',
      summary: 'Send a delivery again',
      description: 'With the same `webhook-id`, so the receiver can tell it is the same event. 409 while it is still being retried; 422 when its status was deleted or the endpoint is disabled.',
      tags,
      request: { params: deliveryIdParams },
      responses: { 202: { description: 'Queued again', body: deliveryAccepted } },
      problems: [403, 404, 409, 422],
    },
    async ({ params }, _req, res) => {
      const d = await requireOwnDelivery(ctx, actorOf(principalOf(res)), params.id);
      await deps.pipeline.redeliver(d.id);
      return { status: 202, body: { delivery_id: d.id } };
    },
  );

  return r;
}
