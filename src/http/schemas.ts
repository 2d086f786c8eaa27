import { z } from 'zod';
import 'zod-openapi';

/**
 * Response shapes shared by several operations (SPEC section 3), as zod schemas: the OpenAPI document is
 * generated from them and the views the handlers return are typed against them (`z.input<typeof ...>`).
 * `id` in `.meta()` makes each a named component of the document.
 */

const time = (what: string) => z.string().meta({ description: `${what} (ISO 8601, UTC)`, format: 'date-time', example: '2026-11-23T10:00:00.000Z' });
export const isoTime = time;

export const problemSchema = z
  .object({
    type: z.string().meta({ description: 'A URL naming the kind of problem; it answers with a page explaining it.', example: 'https://tp.example.com/problems/invalid' }),
    title: z.string().meta({ description: 'The kind of problem, for people.', example: 'Invalid request' }),
    status: z.number().int().meta({ description: 'The HTTP status.', example: 400 }),
    detail: z.string().meta({ description: 'One sentence about this occurrence, naming the field that is wrong.', example: 'Field "text": expected string, received number.' }),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem (`application/problem+json`).' });

export const amountSchema = z.object({
  value: z.string().meta({ description: 'Decimal string', example: '42.50' }),
  currency: z.string().meta({ example: 'USD' }),
});

export const entitiesSchema = z
  .object({
    mentions: z.array(z.string()).meta({ description: 'Handles without `@`, lowercase', example: ['alice'] }),
    tags: z.array(z.string()).meta({ description: 'Tags without `#`, lowercase', example: ['deploy'] }),
    urls: z.array(z.string()).meta({ example: ['https://ci.example.com/builds/42'] }),
    amounts: z.array(amountSchema),
  })
  .meta({ id: 'Entities' });

/** Every door a status can come through (SPEC section 3); the core's StatusPlatform is a subset of these. */
export const platformSchema = z.enum(['slack', 'teams', 'api', 'hook', 'web', 'xmpp', 'sms', 'feed', 'calendar']).meta({ id: 'Platform' });
export const sourceKindSchema = z.enum(['person', 'service']);
export const visibilitySchema = z.enum(['public', 'protected']).meta({ id: 'Visibility' });

export const statusSchema = z
  .object({
    id: z.string().meta({ example: '01JD8X3Q4S5T6V7W8X9Y0Z1A2B' }),
    url: z.string().meta({ description: 'The public page of the status (`/statuses/{id}`)' }),
    text: z.string(),
    created_at: time('When it was posted'),
    platform: platformSchema,
    source: z.object({ handle: z.string(), kind: sourceKindSchema, name: z.string() }),
    entities: entitiesSchema,
  })
  .meta({ id: 'Status' });

/** A page of a list: `next` is the `before` of the next page, null on the last one. */
export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      next: z.string().nullable().meta({ description: 'Pass as `before` for the next page; null on the last page.' }),
    })
    .meta({ id });
}

export const statusPageSchema = pageOf(statusSchema, 'StatusPage');

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string(),
    filter: z.array(z.string()).meta({ description: 'Follow filters such as `+#deploy`, `-flaky`' }),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    created_at: time('Created'),
  })
  .meta({ id: 'Webhook' });

export const deliverySchema = z
  .object({
    id: z.string().meta({ description: 'Also the `webhook-id` header of the send: the same across retries and re-sends.' }),
    event: z.string().meta({ example: 'status.created' }),
    status_id: z.string().nullable(),
    subscriber: z.object({ kind: z.string().meta({ example: 'webhook' }), id: z.string() }),
    route: z.string().meta({ description: 'How it travels: `dm`, `email`, `channel`, `webhook`, `sms`, `xmpp`' }),
    state: z.enum(['queued', 'sent', 'retrying', 'failed', 'skipped']),
    reason: z.string().optional(),
    attempts: z.number().int(),
    last_error: z.string().optional(),
    created_at: time('Created'),
    updated_at: time('Last changed'),
  })
  .meta({ id: 'Delivery' });

export const followSchema = z
  .object({
    id: z.string(),
    target: z.string().meta({ description: 'As people write it: `@build`, `#deploy`, `outage`' }),
    state: z.enum(['active', 'pending', 'off']),
    route: z.string().meta({ description: 'Canonical, `+`-joined: `dm`, `email`, `dm+sms`, `channel`, `webhook`' }),
    routes: z.array(z.string()).meta({ description: 'The routes its deliveries travel, one per name' }).optional(),
    filters: z.array(z.string()),
    subscriber: z.object({
      kind: z.string().meta({ example: 'person' }),
      id: z.string().optional().meta({ description: 'Left out for people in follow requests: a requester is named by handle only' }),
      handle: z.string().optional(),
    }),
    webhook: z.string().nullable().meta({ description: 'The webhook endpoint that follows, if one does' }),
    created_at: time('Created'),
    updated_at: time('Last changed'),
  })
  .meta({ id: 'Follow' });

export const personSchema = z
  .object({ handle: z.string(), name: z.string(), email: z.string().nullable(), kind: z.literal('person'), visibility: visibilitySchema })
  .meta({ id: 'Person' });

export const serviceSchema = z
  .object({ handle: z.string(), name: z.string(), kind: z.literal('service'), visibility: visibilitySchema, owners: z.array(z.string()).meta({ description: 'Handles of its owners' }) })
  .meta({ id: 'Service' });
