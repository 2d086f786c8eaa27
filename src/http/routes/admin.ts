import { Router } from 'express';
import { z } from 'zod';
import { consentCsv, listConsent } from '../../app/audit.js';
import type { AppContext } from '../../app/context.js';
import { createPerson, requireSource } from '../../app/people.js';
import { createService, requireActAs, updateService } from '../../app/services.js';
import { createApiToken, createHookUrl, requireAdmin } from '../../app/tokens.js';
import { invalid } from '../../core/errors.js';
import { isHandle } from '../../core/handles.js';
import { ownPerson, principalOf } from '../auth.js';
import { MAX_PAGE } from '../pagination.js';
import type { PipelineApi } from '../pipeline-api.js';
import { parseInput } from '../problem.js';
import { consentViews, personView } from '../views.js';

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
});

/** CSV exports every matching row, read in pages of this size. */
const CSV_BATCH = 1000;

export function adminRoutes(ctx: AppContext, deps: { pipeline: PipelineApi }): Router {
  const r = Router();

  r.post('/people', async (req, res) => {
    requireAdmin(principalOf(res));
    const body = parseInput(personBody, req.body, 'body');
    res.status(201).json(personView(await createPerson(ctx, body)));
  });

  r.post('/services', async (req, res) => {
    requireAdmin(principalOf(res));
    const body = parseInput(serviceBody, req.body, 'body');
    res.status(201).json(await createService(ctx, body));
  });

  r.patch('/services/:handle', async (req, res) => {
    requireAdmin(principalOf(res));
    const body = parseInput(servicePatch, req.body, 'body');
    if (body.name === undefined && body.visibility === undefined && body.owners === undefined) {
      throw invalid('Nothing to change: give "name", "visibility" or "owners".');
    }
    res.json(await updateService(ctx, req.params.handle ?? '', body));
  });

  // Admins mint for anyone; a person for themselves or a service they own. Service tokens do not mint.
  r.post('/tokens', async (req, res) => {
    const p = principalOf(res);
    const body = parseInput(tokenBody, req.body, 'body');
    const subject = await requireSource(ctx, body.subject);
    if (!p.isAdmin) await requireActAs(ctx, ownPerson(p, 'create tokens'), subject);
    const expiresAt = body.expires_at ? new Date(body.expires_at) : undefined;
    if (expiresAt && expiresAt.getTime() <= ctx.clock.now().getTime()) throw invalid('expires_at must be in the future.');
    const token = await createApiToken(ctx, subject.id, p.source?.id ?? null, expiresAt);
    res.status(201).json({ token, subject: `@${subject.handle}`, expires_at: expiresAt?.toISOString() ?? null });
  });

  r.post('/services/:handle/hooks', async (req, res) => {
    const p = principalOf(res);
    const service = await requireSource(ctx, req.params.handle ?? '');
    if (!p.isAdmin) await requireActAs(ctx, ownPerson(p, 'create hook URLs'), service);
    res.status(201).json({ url: await createHookUrl(ctx, service, p.source?.id ?? null) });
  });

  r.post('/digests/send', async (_req, res) => {
    requireAdmin(principalOf(res));
    const { sent } = await deps.pipeline.sendDigestsNow();
    res.json({ sent });
  });

  r.get('/audit', async (req, res) => {
    requireAdmin(principalOf(res));
    const q = parseInput(auditQuery, req.query, 'query');
    let subjectId: string | undefined;
    if (q.subject !== undefined) {
      // "@jane" or "jane" names a source; anything else is a raw subject id (a channel or webhook).
      const raw = q.subject.replace(/^@/, '').toLowerCase();
      subjectId = q.subject.startsWith('@') || isHandle(raw) ? (await requireSource(ctx, q.subject)).id : q.subject;
    }
    const since = q.since ? new Date(q.since) : undefined;
    if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
      const rows = [];
      let before = q.before;
      for (;;) {
        const page = await listConsent(ctx, { since, subjectId, limit: CSV_BATCH, before });
        rows.push(...page.items);
        if (!page.next) break;
        before = page.next;
      }
      res.type('text/csv; charset=utf-8').attachment('consent.csv').send(consentCsv(rows));
      return;
    }
    const page = await listConsent(ctx, { since, subjectId, limit: q.limit, before: q.before });
    res.json({ items: await consentViews(ctx.db, page.items), next: page.next });
  });

  return r;
}
