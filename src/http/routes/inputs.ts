import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { createInput, deleteInput, getInput, listInputs, pollInputNow, updateInput, type UrlGuard } from '../../app/inputs.js';
import { everySchema, inputKindSchema, remindSchema, tzSchema } from '../../core/inputs.js';
import { actorOf, principalOf } from '../auth.js';
import { route } from '../route.js';
import { pageOf } from '../schemas.js';

/** Inputs (SPEC section 7): a service's feeds and calendars, managed by its owners and admins. */

export const inputSchema = z
  .object({
    id: z.string(),
    service: z.string().meta({ description: 'The handle of the service the input posts as' }),
    kind: inputKindSchema,
    url: z.string().meta({ description: 'Updated by a permanent redirect (301/308)' }),
    every: z.number().int().meta({ description: 'Seconds between polls' }),
    remind: z.number().int().optional().meta({ description: 'Calendars: minutes before an event its reminder is posted' }),
    tz: z.string().optional().meta({ description: 'Calendars: the IANA zone times are written in' }),
    state: z.enum(['active', 'failing', 'disabled']),
    last_polled_at: z.string().nullable(),
    next_poll_at: z.string().nullable().meta({ description: 'Null when disabled' }),
    last_error: z.string().optional(),
    created_at: z.string(),
  })
  .meta({ id: 'Input' });

export const inputPageSchema = pageOf(inputSchema, 'InputPage');

export const createInputBody = z.strictObject({
  kind: inputKindSchema,
  url: z.string({ message: 'must be the feed or calendar URL (https://...)' }).min(1).max(2048).meta({ example: 'https://status.example.com/history.atom' }),
  every: everySchema.optional().meta({ description: 'Seconds between polls (default 300, at least 60)' }),
  remind: remindSchema.optional().meta({ description: 'Calendars: minutes before each event (default 10)' }),
  tz: tzSchema.optional().meta({ description: 'Calendars: the IANA zone of the times in the statuses (default UTC)', example: 'Europe/Berlin' }),
});

export const patchInputBody = z.strictObject({
  every: everySchema.optional(),
  remind: remindSchema.optional(),
  enabled: z.boolean({ message: 'must be true or false' }).optional().meta({ description: 'false disables the input; true makes it active again' }),
});

export const serviceHandleParams = z.object({ handle: z.string().min(1).max(33).meta({ description: 'The service handle' }) });
export const inputIdParams = z.object({ id: z.string().min(1).max(64).meta({ description: 'The input id' }) });

export function inputRoutes(ctx: AppContext, deps: { guard?: UrlGuard } = {}): Router {
  const r = Router();
  const tags = ['inputs'] as const;

  route(
    r,
    {
      method: 'post',
      path: '/services/:handle/inputs',
      operationId: 'createInput',
      summary: 'Add a feed or calendar input to a service',
      description: 'Admins and the service owners. The URL is checked by the private-address guard (unless ALLOW_PRIVATE_URLS). The first poll of a feed records what is there and posts nothing.',
      tags,
      request: { params: serviceHandleParams, body: createInputBody },
      responses: { 201: { description: 'The input', body: inputSchema, headers: z.object({ Location: z.string() }) } },
      problems: [403, 404, 422],
    },
    async ({ params, body }, _req, res) => {
      const view = await createInput(ctx, actorOf(principalOf(res)), params.handle, body, deps.guard);
      res.location(`${ctx.config.publicUrl}/api/v1/inputs/${view.id}`);
      return { status: 201, body: view };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/services/:handle/inputs',
      operationId: 'listInputs',
      summary: "A service's inputs",
      tags,
      request: { params: serviceHandleParams },
      responses: { 200: { description: 'All of them (`next` is always null)', body: inputPageSchema } },
      problems: [403, 404, 422],
    },
    async ({ params }, _req, res) => {
      const { items } = await listInputs(ctx, actorOf(principalOf(res)), params.handle);
      return { status: 200, body: { items, next: null } };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/inputs/:id',
      operationId: 'getInput',
      summary: 'One input, with its state, last and next poll and last error',
      tags,
      request: { params: inputIdParams },
      responses: { 200: { description: 'The input', body: inputSchema } },
      problems: [404],
    },
    async ({ params }, _req, res) => ({ status: 200, body: await getInput(ctx, actorOf(principalOf(res)), params.id) }),
  );

  route(
    r,
    {
      method: 'patch',
      path: '/inputs/:id',
      operationId: 'updateInput',
      summary: 'Change an input: every, remind, enabled',
      tags,
      request: { params: inputIdParams, body: patchInputBody },
      responses: { 200: { description: 'The input as it is now', body: inputSchema } },
      problems: [404, 422],
    },
    async ({ params, body }, _req, res) => ({ status: 200, body: await updateInput(ctx, actorOf(principalOf(res)), params.id, body) }),
  );

  route(
    r,
    {
      method: 'delete',
      path: '/inputs/:id',
      operationId: 'deleteInput',
      summary: 'Delete an input',
      description: 'Statuses it posted stay.',
      tags,
      request: { params: inputIdParams },
      responses: { 204: { description: 'Deleted' } },
      problems: [404],
    },
    async ({ params }, _req, res) => {
      await deleteInput(ctx, actorOf(principalOf(res)), params.id);
      return { status: 204 };
    },
  );

  route(
    r,
    {
      method: 'post',
      path: '/inputs/:id/poll',
      operationId: 'pollInput',
      summary: 'Poll an input now',
      description: 'A worker polls it within a few seconds. 409 when the input is disabled.',
      tags,
      request: { params: inputIdParams },
      responses: { 202: { description: 'Due now', body: inputSchema } },
      problems: [404, 409],
    },
    async ({ params }, _req, res) => ({ status: 202, body: await pollInputNow(ctx, actorOf(principalOf(res)), params.id) }),
  );

  return r;
}
