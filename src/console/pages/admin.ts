import type { Request, RequestHandler, Router } from 'express';
import express from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { effectiveAdmin, grantAdmin, isListedAdmin, revokeAdmin } from '../../app/admins.js';
import { consentCsv, listConsent } from '../../app/audit.js';
import { searchDirectory } from '../../app/directory.js';
import { createPerson, getSourceById, requireSource } from '../../app/people.js';
import { createService } from '../../app/services.js';
import { forbidden, invalid } from '../../core/errors.js';
import { isHandle } from '../../core/handles.js';
import { html } from '../../web/html.js';
import { action, backTo, field, page, queryString, render, type Kit, type Signed } from '../kit.js';
import { timeTag } from '../layout.js';
import { sessionOf } from '../web.js';
import { visibilityBadge } from './parts.js';

function requireAdminSession(s: Signed): void {
  if (!s.isAdmin) throw forbidden('Only administrators may open this page.');
}

/** since/subject filters of the consent record, from the query string. */
async function consentFilters(kit: Kit, req: Request) {
  const sinceRaw = queryString(req, 'since');
  const subjectRaw = queryString(req, 'subject');
  let since: Date | undefined;
  if (sinceRaw) {
    since = new Date(sinceRaw.length === 10 ? `${sinceRaw}T00:00:00Z` : sinceRaw);
    if (Number.isNaN(since.getTime()) || since.getUTCFullYear() < 1970) throw invalid(`"${sinceRaw}" is not a date such as 2026-11-01.`);
  }
  let subjectId: string | undefined;
  if (subjectRaw) {
    const bare = subjectRaw.replace(/^@/, '').toLowerCase();
    subjectId = subjectRaw.startsWith('@') || isHandle(bare) ? (await requireSource(kit.ctx, subjectRaw)).id : subjectRaw;
  }
  return { sinceRaw, subjectRaw, since, subjectId };
}

export function adminPages(r: Router, kit: Kit): void {
  const { ctx } = kit;

  r.get(
    '/admin',
    page(kit, async (req, res, s) => {
      requireAdminSession(s);
      const q = queryString(req, 'q').slice(0, 200);
      const dir = await searchDirectory(ctx, null, { q, limit: 100, before: queryString(req, 'before') || undefined });
      const adminCell = (e: (typeof dir.items)[number]) => {
        if (e.kind !== 'person') return html``;
        const listed = isListedAdmin(ctx.config, e.handle);
        const admin = effectiveAdmin(ctx.config, e);
        if (listed) return html`<span class="badge brand">admin (ADMIN_HANDLES)</span>`;
        return html`${admin ? html`<span class="badge brand">admin</span> ` : ''}<form class="inline" method="post" action="/admin/${admin ? 'revoke' : 'grant'}">${backTo('/admin')}<input type="hidden" name="handle" value="${e.handle}"><button class="small secondary" type="submit">${admin ? `Revoke admin from @${e.handle}` : `Make @${e.handle} admin`}</button></form>`;
      };
      render(kit, req, res, {
        title: 'Administration',
        active: '/admin',
        lead: html`People and services. Also: <a href="/admin/consent">the consent record</a> and <a href="/admin/queues">queue health</a>.`,
        body: html`<div class="grid"><section class="card" aria-labelledby="ps-h"><h2 id="ps-h">People and services</h2>
<form class="row" method="get" action="/admin" role="search"><div><label for="adm-q">Search</label><input id="adm-q" type="search" name="q" value="${q}"></div><div class="shrink"><button type="submit">Search</button></div></form>
<div class="table-wrap"><table><thead><tr><th scope="col">Handle</th><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Admin</th></tr></thead><tbody>${dir.items.map(
          (e) => html`<tr><td><a href="/@${e.handle}">@${e.handle}</a> ${visibilityBadge(e.visibility)}</td><td>${e.name}</td><td>${e.kind}</td><td>${adminCell(e)}</td></tr>`,
        )}</tbody></table></div></section>
<div><section class="card"><h2>New person</h2><form class="stack" method="post" action="/admin/people">${backTo('/admin')}
<div><label for="np-handle">Handle</label><input id="np-handle" type="text" name="handle" required></div>
<div><label for="np-name">Name</label><input id="np-name" type="text" name="name" required></div>
<div><label for="np-email">Email</label><input id="np-email" type="email" name="email" required></div><div><button type="submit">Create person</button></div></form></section>
<section class="card"><h2>New service</h2><form class="stack" method="post" action="/admin/services">${backTo('/admin')}
<div><label for="ns-handle">Handle</label><input id="ns-handle" type="text" name="handle" required></div>
<div><label for="ns-name">Name</label><input id="ns-name" type="text" name="name" required></div>
<div><label for="ns-owners">Owners</label><input id="ns-owners" type="text" name="owners" placeholder="@alice @bob" aria-describedby="ns-oh"><p class="hint" id="ns-oh">Handles of people, separated by spaces.</p></div>
<label class="check"><input type="checkbox" name="protected" value="1"> Protected: owners approve each follower</label><div><button type="submit">Create service</button></div></form></section></div></div>`,
      });
    }),
  );

  const adminAction = (path: string, fn: (req: Request, s: Signed) => Promise<string>): void => {
    r.post(
      path,
      action(kit, '/admin', async (req, _res, s) => {
        requireAdminSession(s);
        return { ok: await fn(req, s) };
      }),
    );
  };
  adminAction('/admin/people', async (req) => {
    const p = await createPerson(ctx, { handle: field(req, 'handle'), name: field(req, 'name'), email: field(req, 'email') });
    return `Created @${p.handle}.`;
  });
  adminAction('/admin/services', async (req) => {
    const owners = field(req, 'owners').split(/[\s,]+/).filter((x) => x !== '');
    const sv = await createService(ctx, { handle: field(req, 'handle'), name: field(req, 'name'), owners, visibility: field(req, 'protected') === '1' ? 'protected' : 'public' });
    return `Created service @${sv.handle}.`;
  });
  adminAction('/admin/grant', async (req, s) => {
    const r2 = await grantAdmin(ctx, field(req, 'handle'), s.person.id, 'web');
    return `@${r2.person.handle} is ${r2.changed ? 'now' : 'already'} an administrator.`;
  });
  adminAction('/admin/revoke', async (req, s) => {
    const r2 = await revokeAdmin(ctx, field(req, 'handle'), s.person.id, 'web');
    return r2.changed ? `@${r2.person.handle} is no longer an administrator.` : `@${r2.person.handle} was not an administrator.`;
  });

  r.get(
    '/admin/consent',
    page(kit, async (req, res, s) => {
      requireAdminSession(s);
      const f = await consentFilters(kit, req);
      const pageRows = await listConsent(ctx, { since: f.since, subjectId: f.subjectId, limit: 50, before: queryString(req, 'before') || undefined });
      const ids = [...new Set(pageRows.items.flatMap((i) => [i.actorId, i.subjectId]).filter((x): x is string => !!x))];
      const names = new Map<string, string>();
      for (const id of ids) {
        const src = await getSourceById(ctx.db, id);
        if (src) names.set(id, `@${src.handle}`);
      }
      const who = (id: string | null) => (id ? (names.get(id) ?? id.slice(0, 8)) : '');
      const qs = `since=${encodeURIComponent(f.sinceRaw)}&subject=${encodeURIComponent(f.subjectRaw)}`;
      render(kit, req, res, {
        title: 'Consent record',
        active: '/admin',
        lead: 'Every opt-in and opt-out: follows, approvals, switches, digests, unsubscribes, admin grants.',
        body: html`<section class="card"><form class="row" method="get" action="/admin/consent">
<div><label for="c-since">Since</label><input id="c-since" type="text" name="since" value="${f.sinceRaw}" placeholder="2026-11-01"></div>
<div><label for="c-subject">Person, service or subject id</label><input id="c-subject" type="text" name="subject" value="${f.subjectRaw}" placeholder="@alice"></div>
<div class="shrink"><button type="submit">Filter</button></div><div class="shrink"><a class="button secondary" href="/admin/consent.csv?${qs}" hx-boost="false" download>Export CSV</a></div></form></section>
<section class="card"><div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Subject</th><th scope="col">About</th><th scope="col">By</th><th scope="col">Via</th></tr></thead><tbody>${pageRows.items.map(
          (i) => html`<tr><td>${timeTag(i.at)}</td><td>${i.action}</td><td>${who(i.subjectId)}</td><td>${i.object}</td><td>${who(i.actorId)}</td><td>${i.via}</td></tr>`,
        )}</tbody></table></div>${pageRows.items.length ? '' : html`<p class="muted">Nothing matches.</p>`}
${pageRows.next ? html`<p class="pager"><a class="button secondary" href="/admin/consent?${qs}&before=${encodeURIComponent(pageRows.next)}">Older</a></p>` : ''}</section>`,
      });
    }),
  );

  r.get(
    '/admin/consent.csv',
    page(kit, async (req, res, s) => {
      requireAdminSession(s);
      const f = await consentFilters(kit, req);
      const rows = [];
      let before: string | undefined;
      for (;;) {
        const p = await listConsent(ctx, { since: f.since, subjectId: f.subjectId, limit: 1000, before });
        rows.push(...p.items);
        if (!p.next) break;
        before = p.next;
      }
      res.type('text/csv; charset=utf-8').attachment('consent.csv').set('Cache-Control', 'no-store').send(consentCsv(rows));
    }),
  );
}

/**
 * bull-board (queue health) at /admin/queues. It has no auth of its own: only an admin session reaches it,
 * and a state-changing call (retry, clean) passes the same CSRF check as the console's forms.
 */
export function mountBullBoard(app: express.Express, kit: Kit, guard: RequestHandler[]): void {
  const adapter = new ExpressAdapter();
  adapter.setBasePath('/admin/queues');
  createBullBoard({ queues: (kit.deps.queues as Queue[]).map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Twitterprise queues' } } });
  const adminOnly: RequestHandler = (req, res, next) => {
    const s = sessionOf(res);
    if (s?.isAdmin) return next();
    if (!s) return res.redirect(303, '/sign-in');
    res.status(403).type('text/plain').send('Only administrators may open queue health.');
  };
  app.use('/admin/queues', ...guard, adminOnly, adapter.getRouter() as RequestHandler);
}
