import { Router } from 'express';
import { z } from 'zod';
import { consentCsv, consentHandles, listConsent } from '../../app/audit.js';
import type { AppContext } from '../../app/context.js';
import { createPerson, requireSource } from '../../app/people.js';
import { createService, requireActAs, updateService } from '../../app/services.js';
import { createApiToken, createHookUrl } from '../../app/tokens.js';
import { invalid } from '../../core/errors.js';
import { isHandle } from '../../core/handles.js';
import { ownPerson, principalOf } from '../auth.js';
import { MAX_PAGE } from '../pagination.js';
import type { PipelineApi } from '../pipeline-api.js';
import { route } from '../route.js';
import { isoTime, pageOf, personSchema, serviceSchema } from '../schemas.js';
import { consentViews, personView } from '../views.js';
import { handleParams } from './sources.js';

const handle = z.string({ message: 'must be a handle such as "build"' }).min(1).max(40);
const visibility = z.enum(['public', 'protected'], { message: 'must be "public" or "protected"' });

const personBody = z.strictObject({
  handle: handle.optional(),
  name: z.string({ message: 'must be a name' }).min(1).max(100),
  email: z.string({ message: 'must be an email address' }).min(3).max(254),
  timezone: z.string().max(64).optional(),
});

const serviceBody = z.strictObject({
  handle,
  name: z.string({ message: 'must be a name' }).min(1).max(100),
  visibility: visibility.optional(),
  owners: z.array(handle, { message: 'must be a list of handles' }).max(50).optional(),
});

const servicePatch = z.strictObject({
  name: z.string().min(1).max(100).optional(),
  visibility: visibility.optional(),
  owners: z.array(handle, { message: 'must be a list of handles' }).max(50).optional(),
});

const tokenBody = z.strictObject({
  subject: handle,
  expires_at: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2027-01-01T00:00:00Z' }).optional(),
});

const auditQuery = z.object({
  since: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-11-01T00:00:00Z' })
    // PostgreSQL has no year 0; nothing in the record is older than 1970 anyway.
    .refine((v) => new Date(v).getUTCFullYear() >= 1970, 'must be a time after 1970-01-01')
    .optional(),
  subject: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE, 'must be a whole number from 1 to 100').default(50),
  before: z.string().min(1).max(100).optional(),
  /** `csv` or `json`; wins over the Accept header (a link or a plain curl can ask for CSV). */
  format: z.enum(['csv', 'json'], { message: 'must be "csv" or "json"' }).optional(),
});

/** CSV exports every matching row, read in pages of this size. */
const CSV_BATCH = 1000;

export const consentEntrySchema = z
  .object({
    id: z.string(),
    at: isoTime('When'),
    actor_id: z.string().nullable(),
    actor: z.string().nullable().meta({ description: 'The actor\'s handle with `@`, when it is a source' }),
    action: z.string().meta({ example: 'follow.approved' }),
    subject_id: z.string(),
    subject: z.string().nullable().meta({ description: 'The subject\'s handle with `@`, when it is a source (it may be a channel or a webhook)' }),
    object: z.string(),
    via: z.string().meta({ example: 'api' }),
    detail: z.unknown(),
  })
  .meta({ id: 'ConsentEntry' });

export const createdTokenSchema = z
  .object({
    token: z.string().meta({ description: 'The secret, shown only in this answer', example: 'tp_3q2Zkx...' }),
    subject: z.string().meta({ example: '@build' }),
    expires_at: z.string().nullable(),
  })
  .meta({ id: 'CreatedToken' });

export function adminRoutes(ctx: AppContext, deps: { pipeline: PipelineApi }): Router {
  const r = Router();
  const tags = ['admin'] as const;

  route(
    r,
    {
      method: 'post',
      path: '/people',
      operationId: 'createPerson',
      summary: 'Create a person',
      description: 'For people who use only the API (chat users are created when they first write).',
      tags,
      admin: true,
      request: { body: personBody },
      responses: { 201: { description: 'The person', body: personSchema } },
      problems: [409, 422],
    },
    async ({ body }) => ({ status: 201, body: personView(await createPerson(ctx, body)) }),
  );

  route(
    r,
    {
      method: 'post',
      path: '/services',
      operationId: 'createService',
      summary: 'Create a service',
      tags,
      admin: true,
      request: { body: serviceBody },
      responses: { 201: { description: 'The service', body: serviceSchema } },
      problems: [404, 409, 422],
    },
    async ({ body }) => ({ status: 201, body: await createService(ctx, body) }),
  );

  route(
    r,
    {
      method: 'patch',
      path: '/services/:handle',
      operationId: 'updateService',
      summary: 'Change a service',
      description: 'Its name, visibility or owners (the list replaces the old one).',
      tags,
      admin: true,
      request: { params: handleParams, body: servicePatch },
      responses: { 200: { description: 'The service as it is now', body: serviceSchema } },
      problems: [404, 422],
    },
    async ({ params, body }) => {
      if (body.name === undefined && body.visibility === undefined && body.owners === undefined) {
        throw invalid('Nothing to change: give "name", "visibility" or "owners".');
      }
      return { status: 200, body: await updateService(ctx, params.handle, body) };
    },
  );

  // Admins mint for anyone; a person for themselves or a service they own. Service tokens do not mint.
  route(
    r,
    {
      method: 'post',
      path: '/tokens',
      operationId: 'createToken',
      summary: 'Create an API token',
      description: 'An admin, for any source; a person, for themselves or a service they own.',
      tags,
      request: { body: tokenBody },
      responses: { 201: { description: 'The token (shown this once)', body: createdTokenSchema } },
      problems: [403, 404, 422],
    },
    async ({ body }, _req, res) => {
      const p = principalOf(res);
      const subject = await requireSource(ctx, body.subject);
      if (!p.isAdmin) await requireActAs(ctx, ownPerson(p, 'create tokens'), subject);
      const expiresAt = body.expires_at ? new Date(body.expires_at) : undefined;
      if (expiresAt && expiresAt.getTime() <= ctx.clock.now().getTime()) throw invalid('expires_at must be in the future.');
      const token = await createApiToken(ctx, subject.id, p.source?.id ?? null, expiresAt);
      return { status: 201, body: { token, subject: `@${subject.handle}`, expires_at: expiresAt?.toISOString() ?? null } };
    },
  );

  route(
    r,
    {
      method: 'post',
      path: '/services/:handle/hooks',
      operationId: 'createHookUrl',
      summary: 'A new incoming-hook URL for a service',
      description: 'An admin or one of its owners. POST text to the URL to post as the service (`POST /hooks/{token}`).',
      tags,
      request: { params: handleParams },
      responses: { 201: { description: 'The URL (its token is shown this once)', body: z.object({ url: z.string() }).meta({ id: 'HookUrl' }) } },
      problems: [403, 404, 422],
    },
    async ({ params }, _req, res) => {
      const p = principalOf(res);
      const service = await requireSource(ctx, params.handle);
      if (!p.isAdmin) await requireActAs(ctx, ownPerson(p, 'create hook URLs'), service);
      return { status: 201, body: { url: await createHookUrl(ctx, service, p.source?.id ?? null) } };
    },
  );

  route(
    r,
    {
      method: 'post',
      path: '/digests/send',
      operationId: 'sendDigests',
      summary: 'Send every digest that has content now',
      description: 'Ignoring the schedule.',
      tags,
      admin: true,
      responses: { 200: { description: 'How many were sent', body: z.object({ sent: z.number().int() }) } },
    },
    async () => {
      const { sent } = await deps.pipeline.sendDigestsNow();
      return { status: 200, body: { sent } };
    },
  );

  route(
    r,
    {
      method: 'get',
      path: '/audit',
      operationId: 'listConsent',
      summary: 'The consent record',
      description: 'Who followed, approved, denied, blocked or unsubscribed what, when and through which door. `?format=csv` (or `Accept: text/csv`; `format` wins) exports every matching entry as CSV, with `actor_handle` and `subject_handle` as the last columns.',
      tags,
      admin: true,
      request: { query: auditQuery },
      responses: { 200: { description: 'A page of entries, newest first, or all of them as CSV', body: pageOf(consentEntrySchema, 'ConsentPage'), content: { 'text/csv': z.string() } } },
      problems: [404],
    },
    async ({ query: q }, req, res) => {
      let subjectId: string | undefined;
      if (q.subject !== undefined) {
        // "@jane" or "jane" names a source; anything else is a raw subject id (a channel or webhook).
        const raw = q.subject.replace(/^@/, '').toLowerCase();
        subjectId = q.subject.startsWith('@') || isHandle(raw) ? (await requireSource(ctx, q.subject)).id : q.subject;
      }
      const since = q.since ? new Date(q.since) : undefined;
      const csv = q.format ? q.format === 'csv' : req.accepts(['application/json', 'text/csv']) === 'text/csv';
      if (csv) {
        const rows = [];
        let before = q.before;
        for (;;) {
          const page = await listConsent(ctx, { since, subjectId, limit: CSV_BATCH, before });
          rows.push(...page.items);
          if (!page.next) break;
          before = page.next;
        }
        res.attachment('consent.csv');
        return { status: 200, body: consentCsv(rows, await consentHandles(ctx.db, rows)), type: 'text/csv; charset=utf-8' };
      }
      const page = await listConsent(ctx, { since, subjectId, limit: q.limit, before: q.before });
      return { status: 200, body: { items: await consentViews(ctx.db, page.items), next: page.next } };
    },
  );

  return r;
}
