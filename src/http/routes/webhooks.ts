import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import {
  createWebhook,
  deleteWebhook,
  deliveriesOf,
  requireOwnDelivery,
  requireOwnWebhook,
  updateWebhook,
  webhooksOf,
  type DestinationCheck,
} from '../../app/webhooks.js';
import { actorOf, ownSource, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import type { PipelineApi } from '../pipeline-api.js';
import { parseInput } from '../problem.js';
import { deliveryView, webhookView } from '../views.js';

const filterList = z.array(z.string().max(70), { message: 'must be a list such as ["+#deploy", "-flaky"]' }).max(20);

const createBody = z.strictObject({
  url: z.string({ message: 'must be the endpoint URL (https://...)' }).min(1),
  description: z.string().max(500).optional(),
  filter: filterList.optional(),
});

const patchBody = z.strictObject({
  url: z.string().min(1).optional(),
  description: z.string().max(500).optional(),
  filter: filterList.optional(),
  enabled: z.boolean({ message: 'must be true or false' }).optional(),
});

const idParam = z.string().min(1).max(64);

export function webhookRoutes(ctx: AppContext, deps: { pipeline: PipelineApi; checkDestination: DestinationCheck }): Router {
  const r = Router();

  r.post('/webhooks', async (req, res) => {
    const owner = ownSource(principalOf(res), 'own a webhook endpoint');
    const body = parseInput(createBody, req.body, 'body');
    const w = await createWebhook(ctx, { ownerId: owner.id, url: body.url, description: body.description, filter: body.filter }, deps.checkDestination);
    // The secret is shown this once (SPEC section 3).
    res.status(201).location(`${ctx.config.publicUrl}/api/v1/webhooks/${w.id}`).json({ ...webhookView(w), secret: w.secret });
  });

  r.get('/webhooks', async (_req, res) => {
    const owner = ownSource(principalOf(res), 'own webhook endpoints');
    res.json({ items: (await webhooksOf(ctx, owner.id)).map(webhookView), next: null });
  });

  r.get('/webhooks/:id', async (req, res) => {
    const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), parseInput(idParam, req.params.id, 'path'));
    res.json(webhookView(w));
  });

  r.patch('/webhooks/:id', async (req, res) => {
    const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), parseInput(idParam, req.params.id, 'path'));
    const body = parseInput(patchBody, req.body, 'body');
    res.json(webhookView(await updateWebhook(ctx, w, body, deps.checkDestination)));
  });

  r.delete('/webhooks/:id', async (req, res) => {
    const actor = actorOf(principalOf(res));
    const w = await requireOwnWebhook(ctx, actor, parseInput(idParam, req.params.id, 'path'));
    await deleteWebhook(ctx, w, actor.id, 'api');
    res.status(204).end();
  });

  r.get('/webhooks/:id/deliveries', async (req, res) => {
    const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), parseInput(idParam, req.params.id, 'path'));
    const q = parseInput(pageQuery, req.query, 'query');
    const page = await deliveriesOf(ctx, w.id, q);
    res.json({ items: page.items.map(deliveryView), next: page.next });
  });

  r.post('/webhooks/:id/test', async (req, res) => {
    const w = await requireOwnWebhook(ctx, actorOf(principalOf(res)), parseInput(idParam, req.params.id, 'path'));
    const { deliveryId } = await deps.pipeline.sendTestEvent(w.id);
    res.status(202).json({ delivery_id: deliveryId });
  });

  r.post('/deliveries/:id/redeliver', async (req, res) => {
    const d = await requireOwnDelivery(ctx, actorOf(principalOf(res)), parseInput(idParam, req.params.id, 'path'));
    await deps.pipeline.redeliver(d.id);
    res.status(202).json({ delivery_id: d.id });
  });

  return r;
}
