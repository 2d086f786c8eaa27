import type { Request, Response, Router } from 'express';
import { requireSource, type SourceRow } from '../../app/people.js';
import { requireActAs, serviceView, servicesOwnedBy } from '../../app/services.js';
import { postStatus, sourceTimeline } from '../../app/statuses.js';
import { createApiToken, createHookUrl, listTokens } from '../../app/tokens.js';
import { createWebhook, deleteWebhook, deliveriesOf, requireOwnDelivery, requireOwnWebhook, updateWebhook, webhooksOf, type WebhookRow } from '../../app/webhooks.js';
import { forbidden } from '../../core/errors.js';
import { html } from '../../web/html.js';
import { action, actor, backTo, field, page, param, queryString, render, type Kit, type Signed } from '../kit.js';
import { initials, timeTag } from '../layout.js';
import { statusList, visibilityBadge } from './parts.js';

const stateBadge = (state: string) => html`<span class="badge ${state === 'sent' ? 'ok' : state === 'failed' ? 'bad' : state === 'skipped' ? '' : 'warn'}">${state}</span>`;

export function ownerPages(r: Router, kit: Kit): void {
  const { ctx } = kit;

  async function ownService(s: Signed, handle: string): Promise<SourceRow> {
    const service = await requireSource(ctx, handle);
    if (service.kind !== 'service') throw forbidden(`@${service.handle} is a person, not a service.`);
    await requireActAs(ctx, actor(s), service);
    return service;
  }

  r.get(
    '/services',
    page(kit, async (req, res, s) => {
      const owned = await servicesOwnedBy(ctx, s.person.id);
      render(kit, req, res, {
        title: 'My services',
        active: '/services',
        lead: 'The services you own: what they post, their owners, incoming hooks, tokens and webhooks.',
        body: html`<section class="card">${
          owned.length
            ? html`<ul class="list">${owned.map(
                (o) => html`<li>${initials(o)}<div class="grow"><a href="/services/${o.handle}"><strong>${o.name}</strong></a> <span class="muted">@${o.handle}</span> ${visibilityBadge(o.visibility)}</div><a class="button secondary" href="/services/${o.handle}" aria-label="Manage @${o.handle}">Manage</a></li>`,
              )}</ul>`
            : html`<p class="muted">You own no services. An administrator creates a service and names its owners.</p>`
        }</section>`,
      });
    }),
  );

  async function servicePage(req: Request, res: Response, s: Signed, service: SourceRow, fresh?: { what: string; value: string }): Promise<void> {
    const [view, tl, tokens, hooks] = await Promise.all([
      serviceView(ctx, service),
      sourceTimeline(ctx, service, actor(s), { limit: 10 }),
      listTokens(ctx, actor(s), { limit: 100 }, service.id),
      webhooksOf(ctx, service.id),
    ]);
    const base = `/services/${service.handle}`;
    render(kit, req, res, {
      title: `${service.name} (@${service.handle})`,
      active: '/services',
      body: html`${
        fresh
          ? html`<section class="card" aria-labelledby="fresh-h"><h2 id="fresh-h">${fresh.what}</h2><p>Copy it now: it will not be shown again.</p><code class="secret">${fresh.value}</code></section>`
          : ''
      }<div class="grid"><div>
<section class="card"><h2>Post as @${service.handle}</h2><form class="stack" method="post" action="${base}/post">
<div><label for="svc-text">Status</label><textarea id="svc-text" name="text" maxlength="1000" required></textarea></div><div><button type="submit">Post as @${service.handle}</button></div></form></section>
<section class="card" aria-labelledby="svc-tl"><h2 id="svc-tl">Latest statuses</h2>${statusList(tl.items, 'Nothing posted yet.')}<p><a href="/@${service.handle}">Its public page</a></p></section>
</div><div>
<section class="card"><h2>About</h2><dl class="facts"><dt>Visibility</dt><dd>${view.visibility}</dd><dt>Owners</dt><dd>${view.owners.map((o, i) => html`${i ? ', ' : ''}<a href="/@${o}">@${o}</a>`)}</dd></dl>
<p class="hint">Administrators change owners and visibility.</p></section>
<section class="card"><h2>Incoming hooks</h2><p class="hint">A hook URL lets any tool post as @${service.handle} with a plain HTTP POST.</p>
<form method="post" action="${base}/hooks" hx-boost="false"><button type="submit" class="secondary">New hook URL</button></form></section>
<section class="card"><h2>Tokens</h2>${
        tokens.items.length
          ? html`<ul class="list">${tokens.items.map(
              (t) => html`<li><div class="grow">${t.kind === 'hook' ? 'Hook URL' : 'API token'} · created ${timeTag(t.createdAt)} · ${t.lastUsedAt ? html`used ${timeTag(t.lastUsedAt)}` : 'never used'}</div>
<form class="inline" method="post" action="/tokens/${t.id}/revoke">${backTo(base)}<button class="small danger" type="submit">Revoke</button></form></li>`,
            )}</ul>`
          : html`<p class="muted">No tokens or hooks.</p>`
      }<form method="post" action="${base}/tokens" hx-boost="false"><button type="submit" class="secondary">New API token for @${service.handle}</button></form></section>
<section class="card"><h2>Webhooks</h2>${
        hooks.length ? html`<ul class="list">${hooks.map((w) => html`<li><a href="/webhooks/${w.id}">${w.description || w.url}</a> ${w.enabled ? '' : html`<span class="badge bad">disabled</span>`}</li>`)}</ul>` : html`<p class="muted">None.</p>`
      }<p><a href="/webhooks">Create one</a></p></section>
</div></div>`,
    });
  }

  r.get(
    '/services/:handle',
    page(kit, async (req, res, s) => servicePage(req, res, s, await ownService(s, param(req, 'handle')))),
  );
  r.post(
    '/services/:handle/post',
    action(kit, '/services', async (req, _res, s) => {
      const service = await ownService(s, param(req, 'handle'));
      await postStatus(ctx, { sourceId: service.id, authorId: s.person.id, text: field(req, 'text'), platform: 'web' });
      return { to: `/services/${service.handle}`, ok: `Posted as @${service.handle}.` };
    }),
  );
  r.post(
    '/services/:handle/hooks',
    action(kit, '/services', async (req, res, s) => {
      const service = await ownService(s, param(req, 'handle'));
      const url = await createHookUrl(ctx, service, s.person.id);
      await servicePage(req, res, s, service, { what: 'Your new hook URL', value: url });
    }),
  );
  r.post(
    '/services/:handle/tokens',
    action(kit, '/services', async (req, res, s) => {
      const service = await ownService(s, param(req, 'handle'));
      const token = await createApiToken(ctx, service.id, s.person.id);
      await servicePage(req, res, s, service, { what: `A new API token for @${service.handle}`, value: token });
    }),
  );

  // ---- Webhooks
  async function webhooksPage(req: Request, res: Response, s: Signed, fresh?: WebhookRow): Promise<void> {
    const owned = await servicesOwnedBy(ctx, s.person.id);
    const lists = await Promise.all([s.person, ...owned].map(async (o) => ({ owner: o, hooks: await webhooksOf(ctx, o.id) })));
    const row = (w: WebhookRow) =>
      html`<li><div class="grow"><a href="/webhooks/${w.id}"><strong>${w.description || 'Webhook'}</strong></a><br><span class="muted">${w.url}</span></div>${w.enabled ? html`<span class="badge ok">enabled</span>` : html`<span class="badge bad">disabled</span>`}</li>`;
    render(kit, req, res, {
      title: 'Webhooks',
      active: '/webhooks',
      lead: 'Endpoints that receive statuses as signed HTTP POSTs (Standard Webhooks).',
      body: html`${
        fresh
          ? html`<section class="card" aria-labelledby="sec-h"><h2 id="sec-h">Signing secret of ${fresh.url}</h2><p>Copy it now: it will not be shown again. Your receiver checks each request's signature with it.</p><code class="secret">${fresh.secret}</code>
<p>Nothing is sent until you follow something with it (API <code>POST /api/v1/follows</code> with <code>webhook</code>) or <a href="/webhooks/${fresh.id}">send a test</a>.</p></section>`
          : ''
      }<div class="grid"><div>${lists.map(
        ({ owner, hooks }) =>
          html`<section class="card"><h2>${owner.id === s.person.id ? 'Yours' : `@${owner.handle}'s`}</h2>${hooks.length ? html`<ul class="list">${hooks.map(row)}</ul>` : html`<p class="muted">None.</p>`}</section>`,
      )}</div>
<section class="card"><h2>New webhook</h2><form class="stack" method="post" action="/webhooks" hx-boost="false">
<div><label for="wh-url">Endpoint URL</label><input id="wh-url" type="url" name="url" required placeholder="https://example.com/hooks/twitterprise"></div>
<div><label for="wh-desc">Description</label><input id="wh-desc" type="text" name="description" maxlength="500"></div>
<div><label for="wh-owner">Owned by</label><select id="wh-owner" name="owner"><option value="">@${s.person.handle} (you)</option>${owned.map((o) => html`<option value="${o.handle}">@${o.handle}</option>`)}</select></div>
<div><button type="submit">Create</button></div></form></section></div>`,
    });
  }

  r.get('/webhooks', page(kit, (req, res, s) => webhooksPage(req, res, s)));
  r.post(
    '/webhooks',
    action(kit, '/webhooks', async (req, res, s) => {
      const ownerHandle = field(req, 'owner');
      const owner = ownerHandle ? await ownService(s, ownerHandle) : s.person;
      const w = await createWebhook(ctx, { ownerId: owner.id, url: field(req, 'url'), description: field(req, 'description') }, kit.deps.checkDestination);
      await webhooksPage(req, res, s, w);
    }),
  );

  r.get(
    '/webhooks/:id',
    page(kit, async (req, res, s) => {
      const w = await requireOwnWebhook(ctx, actor(s), param(req, 'id'));
      const before = queryString(req, 'before') || undefined;
      const log = await deliveriesOf(ctx, w.id, { limit: 50, before });
      const base = `/webhooks/${w.id}`;
      const toggle = (enabled: boolean, label: string, cls: string) =>
        html`<form class="inline" method="post" action="${base}/${enabled ? 'enable' : 'disable'}">${backTo(base)}<button class="${cls}" type="submit">${label}</button></form>`;
      render(kit, req, res, {
        title: w.description || 'Webhook',
        active: '/webhooks',
        lead: w.url,
        body: html`<section class="card">
<dl class="facts"><dt>State</dt><dd>${w.enabled ? html`<span class="badge ok">enabled</span>` : html`<span class="badge bad">disabled</span> ${w.disabledReason ?? ''}`}</dd>
<dt>Failing since</dt><dd>${w.failingSince ? timeTag(w.failingSince) : 'not failing'}</dd><dt>Filters</dt><dd>${w.filter.length ? w.filter.join(' ') : 'none'}</dd><dt>Created</dt><dd>${timeTag(w.createdAt)}</dd></dl>
<div class="actions"><form class="inline" method="post" action="${base}/test">${backTo(base)}<button type="submit">Send a test event</button></form>
${w.enabled ? toggle(false, 'Disable', 'secondary') : toggle(true, 'Enable', 'secondary')}
<form class="inline" method="post" action="${base}/delete">${backTo('/webhooks')}<button class="danger" type="submit">Delete</button></form></div></section>
<section class="card" aria-labelledby="log-h"><h2 id="log-h">Delivery log</h2>${
          log.items.length
            ? html`<div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col"><span class="muted">Action</span></th></tr></thead><tbody>${log.items.map(
                (d) => html`<tr><td>${timeTag(d.updatedAt)}</td><td>${d.event}</td><td>${stateBadge(d.state)}</td><td>${d.attempts}</td><td>${d.lastError ?? d.reason ?? ''}</td>
<td><form class="inline" method="post" action="/webhooks/deliveries/${d.id}/redeliver">${backTo(base)}<button class="small secondary" type="submit">Redeliver</button></form></td></tr>`,
              )}</tbody></table></div>${log.next ? html`<p class="pager"><a class="button secondary" href="${base}?before=${encodeURIComponent(log.next)}">Older</a></p>` : ''}`
            : html`<p class="muted">Nothing sent yet. Send a test event to see one here.</p>`
        }</section>`,
      });
    }),
  );

  const hookAction = (path: string, run: (w: WebhookRow, s: Signed) => Promise<string>): void => {
    r.post(
      `/webhooks/:id/${path}`,
      action(kit, '/webhooks', async (req, _res, s) => {
        const w = await requireOwnWebhook(ctx, actor(s), param(req, 'id'));
        return { ok: await run(w, s) };
      }),
    );
  };
  hookAction('test', async (w) => {
    await kit.deps.pipeline.sendTestEvent(w.id);
    return 'A webhook.test event is on its way; the log shows how it went.';
  });
  hookAction('enable', async (w) => {
    await updateWebhook(ctx, w, { enabled: true }, kit.deps.checkDestination);
    return 'The webhook is enabled.';
  });
  hookAction('disable', async (w) => {
    await updateWebhook(ctx, w, { enabled: false }, kit.deps.checkDestination);
    return 'The webhook is disabled: nothing is sent to it until you enable it.';
  });
  hookAction('delete', async (w, s) => {
    await deleteWebhook(ctx, w, s.person.id, 'web');
    return 'The webhook and its follows are deleted.';
  });

  r.post(
    '/webhooks/deliveries/:id/redeliver',
    action(kit, '/webhooks', async (req, _res, s) => {
      const d = await requireOwnDelivery(ctx, actor(s), param(req, 'id'));
      await kit.deps.pipeline.redeliver(d.id);
      return { ok: 'Redelivered with the same webhook-id; the log shows the new attempt.' };
    }),
  );
}

