import type { Request, Response, Router } from 'express';
import { searchDirectory } from '../../app/directory.js';
import {
  block,
  decideFollowRequest,
  findFollow,
  follow,
  followersOf,
  followsOf,
  getFollow,
  labelOf,
  pendingRequests,
  removeFollow,
  resolveTarget,
  subscriberLabel,
  switchFollow,
  type FollowRow,
  type TargetSpec,
} from '../../app/follows.js';
import { deliveriesToPerson } from '../../app/inbox.js';
import { getSourceById, getSourceByHandle, handlesOf, identitiesOf, ownerIdsOf, requireSource } from '../../app/people.js';
import { requireActAs, servicesOwnedBy } from '../../app/services.js';
import { setDigest, setDmPreference, setQuietHours, setTimezone, setVisibility } from '../../app/settings.js';
import { setGlobalSwitch } from '../../app/follows.js';
import { canViewSource, homeTimeline, postStatus, sourceTimeline } from '../../app/statuses.js';
import { createApiToken, listTokens, revokeOwnToken } from '../../app/tokens.js';
import { requireOwnDelivery } from '../../app/webhooks.js';
import { invalid, notFound, rule } from '../../core/errors.js';
import { parseHhMm } from '../../core/quiet-hours.js';
import { PERSON_ROUTES, formatRoutes, parseRouteSpec, personRoutesOf } from '../../core/routes.js';
import type { DigestPeriod, DmPreference } from '../../core/types.js';
import { html, type Html } from '../../web/html.js';
import { action, actor, backTo, field, fields, page, param, queryString, render, send, type Kit, type Signed } from '../kit.js';
import { initials, timeTag } from '../layout.js';
import { isHtmx, sessionOf } from '../web.js';
import { directoryRow, followButton, statusList, visibilityBadge } from './parts.js';

const PAGE = 20;
const cursor = (req: Request) => queryString(req, 'before') || undefined;
const pager = (path: string, next: string | null, extra = '') =>
  next ? html`<p class="pager"><a class="button secondary" href="${path}?${extra}before=${encodeURIComponent(next)}">Older</a></p>` : html``;

const ROUTE_LABEL: Record<string, string> = { dm: 'Chat DM', email: 'Email digest', sms: 'Text message', xmpp: 'XMPP' };

export function personPages(r: Router, kit: Kit): void {
  const { ctx } = kit;

  // ---- Home: timeline and post box
  r.get(
    '/',
    async (req, res, next) => {
      if (!sessionOf(res)) return landing(kit, req, res);
      next();
    },
    page(kit, async (req, res, s) => {
      const [tl, owned] = await Promise.all([homeTimeline(ctx, s.person.id, { limit: PAGE, before: cursor(req) }), servicesOwnedBy(ctx, s.person.id)]);
      const me = s.person;
      const asChoices = owned.length
        ? html`<div><label for="post-as">Post as</label><select id="post-as" name="as"><option value="">@${me.handle} (you)</option>${owned.map((o) => html`<option value="${o.handle}">@${o.handle} (${o.name})</option>`)}</select></div>`
        : '';
      render(kit, req, res, {
        title: 'Home',
        active: '/',
        body: html`<div class="grid"><div>
<section class="card" aria-labelledby="post-h"><h2 id="post-h">Post a status</h2>
<form class="stack" method="post" action="/post">
  <div><label for="post-text">What is happening?</label><textarea id="post-text" name="text" maxlength="1000" required aria-describedby="post-hint"></textarea>
  <p class="hint" id="post-hint">Up to 1,000 characters. #tags and @mentions work as in chat.</p></div>
  ${asChoices}
  <div><button type="submit">Post</button></div>
</form></section>
<section class="card" aria-labelledby="tl-h"><h2 id="tl-h">Your timeline</h2>
${statusList(tl.items, html`Nothing here yet. Find people and services to follow in the <a href="/directory">directory</a>.`)}
${pager('/', tl.next)}
</section></div>
<aside class="card" aria-labelledby="me-h"><h2 id="me-h">@${me.handle}</h2>
<dl class="facts"><dt>Name</dt><dd>${me.name}</dd><dt>Deliveries</dt><dd>${me.switchedOff ? html`<span class="badge bad">off</span>` : html`<span class="badge ok">on</span>`}</dd>
<dt>Visibility</dt><dd>${me.visibility}</dd><dt>Quiet hours</dt><dd>${me.quietStart ? `${me.quietStart}-${me.quietEnd}` : 'none'}</dd><dt>Digest</dt><dd>${me.digestPeriod}</dd></dl>
<p><a href="/settings">Change settings</a> · <a href="/@${me.handle}">Your page</a></p></aside></div>`,
      });
    }),
  );

  r.post(
    '/post',
    action(kit, '/', async (req, _res, s) => {
      const as = field(req, 'as');
      let sourceId = s.person.id;
      if (as) {
        const service = await requireSource(ctx, as);
        await requireActAs(ctx, actor(s), service);
        sourceId = service.id;
      }
      const { status } = await postStatus(ctx, { sourceId, authorId: s.person.id, text: field(req, 'text'), platform: 'web' });
      return { to: '/', ok: `Posted as @${status.source.handle}.` };
    }),
  );

  // ---- Directory
  r.get(
    '/directory',
    page(kit, async (req, res, s) => {
      const q = queryString(req, 'q').slice(0, 200);
      const kindRaw = queryString(req, 'kind');
      const kind = kindRaw === 'person' || kindRaw === 'service' ? kindRaw : undefined;
      const dir = await searchDirectory(ctx, s.person.id, { q, kind, limit: 50, before: cursor(req) });
      const self = `/directory?q=${encodeURIComponent(q)}&kind=${kind ?? ''}`;
      const opt = (v: string, label: string) => html`<option value="${v}"${(kind ?? '') === v ? html` selected` : ''}>${label}</option>`;
      render(kit, req, res, {
        title: 'Directory',
        active: '/directory',
        lead: 'Every person and service in the company: the one place to find what to follow.',
        body: html`<section class="card"><form class="row" method="get" action="/directory" role="search">
  <div><label for="dir-q">Search by handle or name</label><input id="dir-q" type="search" name="q" value="${q}" placeholder="build, payroll, alice..."></div>
  <div class="shrink"><label for="dir-kind">Kind</label><select id="dir-kind" name="kind">${opt('', 'Everyone')}${opt('person', 'People')}${opt('service', 'Services')}</select></div>
  <div class="shrink"><button type="submit">Search</button></div>
</form></section>
<section class="card" aria-labelledby="dir-h"><h2 id="dir-h">${q ? `Matching "${q}"` : 'Everyone'}</h2>
${dir.items.length ? html`<ul class="list">${dir.items.map((e) => directoryRow(e, s.person.id, self))}</ul>` : html`<p class="muted">Nobody and no service matches. Try fewer words.</p>`}
${pager('/directory', dir.next, `q=${encodeURIComponent(q)}&kind=${kind ?? ''}&`)}
</section>`,
      });
    }),
  );

  /** After follow/unfollow from the directory with htmx: the row, swapped in place. */
  async function rowAnswer(req: Request, res: Response, s: Signed, handle: string, flash: string): Promise<boolean> {
    const target = req.get('hx-target') ?? '';
    if (!isHtmx(req) || !target.startsWith('src-')) return false;
    const { items } = await searchDirectory(ctx, s.person.id, { q: handle, limit: 50 });
    const e = items.find((i) => i.handle === handle);
    if (!e) return false;
    res.set('HX-Trigger', JSON.stringify({ tpFlash: flash }));
    send(res, 200, directoryRow(e, s.person.id, field(req, 'back') || '/directory'));
    return true;
  }

  r.post(
    '/follow',
    action(kit, '/directory', async (req, res, s) => {
      const raw = field(req, 'handle') || field(req, 'target');
      if (!raw) throw invalid('Give a @handle, #tag or word to follow.');
      const spec = /^[@#]/.test(raw) || !field(req, 'target') ? (raw.startsWith('#') ? raw : `@${raw.replace(/^@/, '')}`) : raw;
      const target = await resolveTarget(ctx, spec);
      const existing = await findFollow(ctx.db, { kind: 'person', id: s.person.id }, target);
      const result = await follow(ctx, {
        subscriber: { kind: 'person', id: s.person.id },
        actor: actor(s),
        target,
        route: existing?.route ?? 'dm',
        filters: existing?.filters ?? [],
        via: 'web',
      });
      const ok = result.pending ? `Asked to follow ${target.label}: its owners decide.` : `You follow ${target.label}; statuses come to your chat DMs.`;
      if (target.kind === 'source' && (await rowAnswer(req, res, s, target.source!.handle, ok))) return;
      return { to: field(req, 'back') || '/following', ok };
    }),
  );

  r.post(
    '/unfollow',
    action(kit, '/directory', async (req, res, s) => {
      const handle = field(req, 'handle').replace(/^@/, '');
      const target = await resolveTarget(ctx, `@${handle}`);
      const f = await findFollow(ctx.db, { kind: 'person', id: s.person.id }, target);
      if (!f) throw notFound(`You do not follow ${target.label}.`);
      await removeFollow(ctx, f, s.person.id, 'web', target.label);
      const ok = f.state === 'pending' ? `Your request to follow ${target.label} is withdrawn.` : `You no longer follow ${target.label}.`;
      if (await rowAnswer(req, res, s, target.source!.handle, ok)) return;
      return { ok };
    }),
  );

  // ---- Following: route, filters, on/off per follow
  async function myFollow(s: Signed, id: string): Promise<FollowRow> {
    const f = await getFollow(ctx.db, id);
    if (!f || f.subscriberKind !== 'person' || f.subscriberId !== s.person.id) throw notFound('That follow is not yours or no longer exists.');
    return f;
  }

  r.get(
    '/following',
    page(kit, async (req, res, s) => {
      const { items } = await followsOf(ctx, [{ kind: 'person', id: s.person.id }], { limit: 100 });
      const rows = await Promise.all(items.map(async (f) => ({ f, label: await labelOf(ctx.db, f) })));
      const row = ({ f, label }: { f: FollowRow; label: string }) => {
        const routes = f.route === 'channel' || f.route === 'webhook' ? [] : personRoutesOf(f.route);
        const fid = `f-${f.id}`;
        const state =
          f.state === 'pending' ? html`<span class="badge warn">waiting for approval</span>` : f.state === 'off' ? html`<span class="badge bad">off</span>` : html`<span class="badge ok">on</span>`;
        return html`<li id="${fid}"><div class="grow"><h3>${f.targetKind === 'source' ? html`<a href="/${label}">${label}</a>` : label} ${state}</h3>
<form class="stack" method="post" action="/following/${f.id}">${backTo('/following')}
  <fieldset class="row"><legend class="muted">Deliver to</legend>${PERSON_ROUTES.map(
    (r) => html`<label class="check"><input type="checkbox" name="route" value="${r}"${routes.includes(r) ? html` checked` : ''}> ${ROUTE_LABEL[r] ?? r}</label>`,
  )}</fieldset>
  <div><label for="${fid}-filters">Filters</label><input id="${fid}-filters" type="text" name="filters" value="${f.filters.join(' ')}" aria-describedby="${fid}-fh" placeholder="+#deploy -flaky"><p class="hint" id="${fid}-fh">+#tag keeps only statuses with the tag; -word and -#tag drop statuses with them.</p></div>
  <div class="row"><div class="shrink"><button class="small" type="submit">Save</button></div></div>
</form>
<div class="row">${
          f.state === 'pending'
            ? ''
            : html`<form class="inline shrink" method="post" action="/following/${f.id}/switch">${backTo('/following')}<input type="hidden" name="on" value="${f.state === 'off' ? '1' : '0'}"><button class="small secondary" type="submit">${f.state === 'off' ? `Turn ${label} on` : `Turn ${label} off`}</button></form>`
        }
<form class="inline shrink" method="post" action="/following/${f.id}/remove">${backTo('/following')}<button class="small danger" type="submit">${f.targetKind === 'word' ? 'Untrack' : 'Unfollow'} ${label}</button></form></div></div></li>`;
      };
      render(kit, req, res, {
        title: 'Following',
        active: '/following',
        lead: 'What you follow and track, where each one is delivered, and its filters.',
        body: html`<section class="card"><h2>Follow a #tag or track a word</h2><form class="row" method="post" action="/follow">${backTo('/following')}
  <div><label for="new-target">#tag, word or @handle</label><input id="new-target" type="text" name="target" required placeholder="#deploy or outage"></div>
  <div class="shrink"><button type="submit">Follow</button></div></form></section>
<section class="card" aria-labelledby="fl-h"><h2 id="fl-h">${rows.length} ${rows.length === 1 ? 'follow' : 'follows'}</h2>
${rows.length ? html`<ul class="list">${rows.map(row)}</ul>` : html`<p class="muted">You follow nothing yet. The <a href="/directory">directory</a> lists everyone.</p>`}</section>`,
      });
    }),
  );

  r.post(
    '/following/:id',
    action(kit, '/following', async (req, _res, s) => {
      const f = await myFollow(s, param(req, 'id'));
      const spec = parseRouteSpec(fields(req, 'route'));
      if (!spec.ok) throw invalid(`"${spec.bad}" is not a route.`);
      if (!spec.routes.length) throw rule('Choose at least one place to deliver to, or unfollow.');
      const filters = field(req, 'filters').split(/\s+/).filter((x) => x !== '');
      const label = await labelOf(ctx.db, f);
      const source = f.targetKind === 'source' ? ((await getSourceById(ctx.db, f.target)) ?? undefined) : undefined;
      const target: TargetSpec = { kind: f.targetKind, value: f.target, label, ...(source ? { source } : {}) };
      await follow(ctx, { subscriber: { kind: 'person', id: s.person.id }, actor: actor(s), target, route: formatRoutes(spec.routes), filters, via: 'web' });
      return { ok: `Saved ${label}.` };
    }),
  );

  r.post(
    '/following/:id/switch',
    action(kit, '/following', async (req, _res, s) => {
      const f = await myFollow(s, param(req, 'id'));
      const on = field(req, 'on') === '1';
      const label = await labelOf(ctx.db, f);
      await switchFollow(ctx, f, on, s.person.id, 'web', label);
      return { ok: `${label} is ${on ? 'on' : 'off'}.` };
    }),
  );

  r.post(
    '/following/:id/remove',
    action(kit, '/following', async (req, _res, s) => {
      const f = await myFollow(s, param(req, 'id'));
      const label = await labelOf(ctx.db, f);
      await removeFollow(ctx, f, s.person.id, 'web', label);
      return { ok: `You no longer follow ${label}.` };
    }),
  );

  // ---- Followers and requests
  r.get(
    '/followers',
    page(kit, async (req, res, s) => {
      const [{ count, people }, pending] = await Promise.all([followersOf(ctx, s.person.id, 100), pendingRequests(ctx, actor(s), { limit: 50 })]);
      const reqs = await Promise.all(
        pending.items.map(async (f) => ({ f, who: await subscriberLabel(ctx.db, f.subscriberKind, f.subscriberId), what: await labelOf(ctx.db, f) })),
      );
      render(kit, req, res, {
        title: 'Followers and requests',
        active: '/followers',
        body: html`<section class="card" aria-labelledby="rq-h"><h2 id="rq-h">Follow requests waiting for you</h2>
${
  reqs.length
    ? html`<ul class="list">${reqs.map(
        ({ f, who, what }) => html`<li><div class="grow"><strong>${who}</strong> asks to follow <strong>${what}</strong></div>
<form class="inline" method="post" action="/requests/${f.id}/approve">${backTo('/followers')}<button class="small" type="submit">Approve ${who}</button></form>
<form class="inline" method="post" action="/requests/${f.id}/deny">${backTo('/followers')}<button class="small secondary" type="submit">Deny ${who}</button></form>
${f.subscriberKind === 'person' ? html`<form class="inline" method="post" action="/block">${backTo('/followers')}<input type="hidden" name="handle" value="${who}"><input type="hidden" name="source" value="${what}"><button class="small danger" type="submit">Block ${who}</button></form>` : ''}</li>`,
      )}</ul>`
    : html`<p class="muted">No requests are waiting.${s.person.visibility === 'public' ? ' Your statuses are public, so anyone may follow you; turn on "protect" in settings to approve followers.' : ''}</p>`
}</section>
<section class="card" aria-labelledby="fw-h"><h2 id="fw-h">${count} ${count === 1 ? 'follower' : 'followers'}</h2>
${
  people.length
    ? html`<ul class="list">${people.map(
        (h) => html`<li><div class="grow"><a href="/@${h}">@${h}</a></div><form class="inline" method="post" action="/block">${backTo('/followers')}<input type="hidden" name="handle" value="${h}"><button class="small danger" type="submit">Block @${h}</button></form></li>`,
      )}</ul>`
    : html`<p class="muted">Nobody follows you yet.</p>`
}</section>`,
      });
    }),
  );

  for (const decision of ['approve', 'deny'] as const) {
    r.post(
      `/requests/:id/${decision}`,
      action(kit, '/followers', async (req, _res, s) => {
        const out = await decideFollowRequest(ctx, { actor: actor(s), followId: param(req, 'id'), decision, via: 'web' });
        return { ok: `You ${decision === 'approve' ? 'approved' : 'denied'} ${out.requester}'s request to follow @${out.source.handle}.` };
      }),
    );
  }

  r.post(
    '/block',
    action(kit, '/followers', async (req, _res, s) => {
      const person = await requireSource(ctx, field(req, 'handle'));
      const sourceRaw = field(req, 'source');
      const source = sourceRaw && sourceRaw.startsWith('@') ? await requireSource(ctx, sourceRaw) : s.person;
      if (person.id === s.person.id) throw rule('You cannot block yourself.');
      await block(ctx, { actor: actor(s), source, person, via: 'web' });
      return { ok: `You blocked @${person.handle}: they no longer follow ${source.id === s.person.id ? 'you' : `@${source.handle}`} and cannot ask again.` };
    }),
  );

  // ---- Settings
  r.get(
    '/settings',
    page(kit, async (req, res, s) => {
      const me = (await getSourceById(ctx.db, s.person.id))!;
      const ids = await identitiesOf(ctx.db, me.id);
      const sel = (name: string, id: string, label: string, current: string, choices: [string, string][]) =>
        html`<div><label for="${id}">${label}</label><select id="${id}" name="${name}">${choices.map(([v, l]) => html`<option value="${v}"${v === current ? html` selected` : ''}>${l}</option>`)}</select></div>`;
      const form = (path: string, title: string, inner: Html, button = 'Save') =>
        html`<section class="card"><h2>${title}</h2><form class="stack" method="post" action="/settings/${path}">${backTo('/settings')}${inner}<div><button type="submit">${button}</button></div></form></section>`;
      render(kit, req, res, {
        title: 'Settings',
        active: '/settings',
        body: html`<div class="grid"><div>
${form(
  'switch',
  'All deliveries',
  html`<p>${me.switchedOff ? html`<span class="badge bad">off</span> Nothing is delivered to you until you switch back on. Nothing is lost: your timeline keeps everything.` : html`<span class="badge ok">on</span> Statuses you follow reach you.`}</p><input type="hidden" name="on" value="${me.switchedOff ? '1' : '0'}">`,
  me.switchedOff ? 'Switch everything on' : 'Switch everything off',
)}
${form(
  'quiet',
  'Quiet hours',
  html`<p class="hint">In your time zone (${me.timezone}). Chat DMs that arrive then wait until they end.</p>
<div class="row"><div><label for="q-start">From</label><input id="q-start" type="time" name="start" value="${me.quietStart ?? ''}"></div><div><label for="q-end">Until</label><input id="q-end" type="time" name="end" value="${me.quietEnd ?? ''}"></div></div>
<label class="check"><input type="checkbox" name="to_digest" value="1"${me.quietToDigest ? html` checked` : ''}> Send them to my email digest instead</label>
<p class="hint">Leave both times empty to turn quiet hours off.</p>`,
)}
${form(
  'digest',
  'Email digest',
  html`<div class="row">${sel('period', 'd-period', 'How often', me.digestPeriod, [
    ['off', 'Off'],
    ['hourly', 'Hourly'],
    ['daily', 'Daily'],
    ['weekly', 'Weekly (Mondays)'],
  ])}<div><label for="d-at">At</label><input id="d-at" type="time" name="at" value="${me.digestAt}"></div></div><p class="hint">${me.email ? `Sent to ${me.email}.` : 'We have no email address for you, so a digest cannot be sent.'}</p>`,
)}
</div><div>
${form('timezone', 'Time zone', html`<div><label for="tz">Time zone</label><input id="tz" type="text" name="timezone" value="${me.timezone}" aria-describedby="tz-h"><p class="hint" id="tz-h">A name such as Europe/Berlin or America/New_York.</p></div>`)}
${form(
  'dm',
  'Where DMs go',
  sel('dm', 'dm-pref', 'When you use both Slack and Teams', me.dmPreference, [
    ['last', 'Where I last used the app'],
    ['slack', 'Slack'],
    ['teams', 'Teams'],
    ['both', 'Both'],
  ]),
)}
${form(
  'protect',
  'Who may follow you',
  sel('visibility', 'vis', 'Your statuses are', me.visibility, [
    ['public', 'Public: anyone may follow'],
    ['protected', 'Protected: I approve each follower'],
  ]),
)}
<section class="card"><h2>Linked identities</h2>${
          ids.length
            ? html`<ul class="list">${ids.map((i) => html`<li><span class="badge brand">${i.platform}</span> <span class="muted">${i.tenant}</span></li>`)}</ul>`
            : html`<p class="muted">None yet.</p>`
        }<p class="hint">Using the app on Slack or Teams with the same email links you here.</p></section>
</div></div>`,
      });
    }),
  );

  r.post(
    '/settings/switch',
    action(kit, '/settings', async (req, _res, s) => {
      const on = field(req, 'on') === '1';
      await setGlobalSwitch(ctx, s.person.id, on, 'web');
      return { ok: on ? 'All your deliveries are on.' : 'All your deliveries are off. Switch back on any time.' };
    }),
  );
  r.post(
    '/settings/quiet',
    action(kit, '/settings', async (req, _res, s) => {
      const start = field(req, 'start');
      const end = field(req, 'end');
      if (!start && !end) {
        await setQuietHours(ctx, s.person.id, null, 'web');
        return { ok: 'Quiet hours are off.' };
      }
      const hours = { start: parseHhMm(start.slice(0, 5), 'HH:MM'), end: parseHhMm(end.slice(0, 5), 'HH:MM'), toDigest: field(req, 'to_digest') === '1' };
      if (hours.start === hours.end) throw rule('Quiet hours need a start and an end that differ.');
      await setQuietHours(ctx, s.person.id, hours, 'web');
      return { ok: `Quiet hours: ${hours.start}-${hours.end}.` };
    }),
  );
  r.post(
    '/settings/digest',
    action(kit, '/settings', async (req, _res, s) => {
      const period = field(req, 'period') as DigestPeriod;
      if (!['off', 'hourly', 'daily', 'weekly'].includes(period)) throw invalid('Choose off, hourly, daily or weekly.');
      const me = await getSourceById(ctx.db, s.person.id);
      if (period !== 'off' && !me?.email) throw rule('A digest goes by email, and we have no email address for you.');
      const at = field(req, 'at');
      await setDigest(ctx, s.person.id, period, at ? parseHhMm(at.slice(0, 5), 'HH:MM') : undefined, 'web');
      return { ok: period === 'off' ? 'Your email digest is off.' : `Your email digest: ${period}.` };
    }),
  );
  r.post(
    '/settings/timezone',
    action(kit, '/settings', async (req, _res, s) => {
      await setTimezone(ctx, s.person.id, field(req, 'timezone'));
      return { ok: `Your time zone is ${field(req, 'timezone')}.` };
    }),
  );
  r.post(
    '/settings/dm',
    action(kit, '/settings', async (req, _res, s) => {
      const pref = field(req, 'dm') as DmPreference;
      if (!['last', 'slack', 'teams', 'both'].includes(pref)) throw invalid('Choose where your DMs go.');
      await setDmPreference(ctx, s.person.id, pref, 'web');
      return { ok: 'Saved where your DMs go.' };
    }),
  );
  r.post(
    '/settings/protect',
    action(kit, '/settings', async (req, _res, s) => {
      const v = field(req, 'visibility');
      if (v !== 'public' && v !== 'protected') throw invalid('Choose public or protected.');
      await setVisibility(ctx, s.person.id, v, 'web');
      return { ok: v === 'protected' ? 'Your statuses are protected: new followers need your approval.' : 'Your statuses are public.' };
    }),
  );

  // ---- Tokens
  async function tokensPage(req: Request, res: Response, s: Signed, fresh?: string): Promise<void> {
    const { items } = await listTokens(ctx, actor(s), { limit: 100 }, s.person.id);
    render(kit, req, res, {
      title: 'API tokens',
      active: '/tokens',
      lead: html`Personal tokens act as you on the <a href="/api/docs">HTTP API</a>. A token is shown once; only its hash is kept.`,
      body: html`${
        fresh
          ? html`<section class="card" aria-labelledby="new-h"><h2 id="new-h">Your new token</h2><p>Copy it now: it will not be shown again.</p><code class="secret">${fresh}</code><p class="hint">Send it as <code>Authorization: Bearer &lt;token&gt;</code>.</p></section>`
          : ''
      }
<section class="card"><h2>Create a token</h2><form method="post" action="/tokens" hx-boost="false"><button type="submit">Create a personal token</button></form></section>
<section class="card" aria-labelledby="tk-h"><h2 id="tk-h">Your tokens</h2>${
        items.length
          ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="muted">Action</span></th></tr></thead><tbody>${items.map(
              (t) => html`<tr><td>${timeTag(t.createdAt)}</td><td>${t.lastUsedAt ? timeTag(t.lastUsedAt) : 'never'}</td><td>${t.expiresAt ? timeTag(t.expiresAt) : 'never'}</td>
<td><form class="inline" method="post" action="/tokens/${t.id}/revoke">${backTo('/tokens')}<button class="small danger" type="submit" aria-label="Revoke the token created ${timeTag(t.createdAt).value.replace(/<[^>]+>/g, '')}">Revoke</button></form></td></tr>`,
            )}</tbody></table></div>`
          : html`<p class="muted">You have no tokens. Chat's "token" command makes one too.</p>`
      }</section>`,
    });
  }

  r.get('/tokens', page(kit, (req, res, s) => tokensPage(req, res, s)));
  r.post(
    '/tokens',
    action(kit, '/tokens', async (req, res, s) => {
      // Shown once, on this answer: never in a redirect, a cookie or the history cache.
      const token = await createApiToken(ctx, s.person.id, s.person.id);
      await tokensPage(req, res, s, token);
    }),
  );
  r.post(
    '/tokens/:id/revoke',
    action(kit, '/tokens', async (req, _res, s) => {
      await revokeOwnToken(ctx, actor(s), param(req, 'id'));
      return { ok: 'The token is revoked: it no longer works.' };
    }),
  );

  // ---- My deliveries
  r.get(
    '/deliveries',
    page(kit, async (req, res, s) => {
      const { items, next } = await deliveriesToPerson(ctx, s.person.id, { limit: 50, before: cursor(req) });
      const badge = (state: string) => html`<span class="badge ${state === 'sent' ? 'ok' : state === 'failed' ? 'bad' : state === 'skipped' ? '' : 'warn'}">${state}</span>`;
      render(kit, req, res, {
        title: 'My deliveries',
        active: '/deliveries',
        lead: 'What was sent to you, where, and how it went.',
        body: html`<section class="card">${
          items.length
            ? html`<div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Where</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead><tbody>${items.map(
                (d) => html`<tr><td>${timeTag(d.createdAt)}</td><td>${d.statusId ? html`<a href="/statuses/${d.statusId}">${d.event}</a>` : d.event}</td><td>${d.route}</td><td>${badge(d.state)}</td>
<td>${d.lastError ?? d.reason ?? ''}${d.state === 'failed' ? html` <form class="inline" method="post" action="/deliveries/${d.id}/redeliver">${backTo('/deliveries')}<button class="small secondary" type="submit">Send again</button></form>` : ''}</td></tr>`,
              )}</tbody></table></div>${pager('/deliveries', next)}`
            : html`<p class="muted">Nothing has been delivered to you yet.</p>`
        }</section>`,
      });
    }),
  );

  r.post(
    '/deliveries/:id/redeliver',
    action(kit, '/deliveries', async (req, _res, s) => {
      const d = await requireOwnDelivery(ctx, actor(s), param(req, 'id'));
      await kit.deps.pipeline.redeliver(d.id);
      return { ok: 'Sent again; its state updates here.' };
    }),
  );

  // ---- A source's page: public ones for anyone, protected ones for whoever may see them
  r.get('/@:handle', async (req, res) => {
    const s = sessionOf(res);
    const handle = param(req, 'handle').toLowerCase();
    const source = /^[a-z0-9_-]{1,32}$/.test(handle) ? await getSourceByHandle(ctx, handle) : null;
    const viewer = s ? actor(s) : { id: null, isAdmin: false };
    const visible = source ? await canViewSource(ctx, source, viewer) : false;
    if (!source || (!visible && !s)) {
      render(kit, req, res, { title: 'Not found', body: html`<div class="card"><p>There is no public page for @${handle}.</p><p><a href="/directory">The directory</a> lists everyone.</p></div>` }, 404);
      return;
    }
    const [tl, followers, owners, myFollow] = await Promise.all([
      visible ? sourceTimeline(ctx, source, viewer, { limit: PAGE, before: cursor(req) }) : Promise.resolve({ items: [], next: null }),
      followersOf(ctx, source.id, 1),
      source.kind === 'service' ? ownerIdsOf(ctx.db, source).then((ids) => handlesOf(ctx.db, ids)) : Promise.resolve([] as string[]),
      s ? findFollow(ctx.db, { kind: 'person', id: s.person.id }, { kind: 'source', value: source.id }) : Promise.resolve(null),
    ]);
    const feed = `/feeds/${source.handle}.atom`;
    const followUi = s
      ? followButton({ handle: source.handle, visibility: source.visibility, followState: myFollow?.state ?? null }, source.id === s.person.id, `/@${source.handle}`)
      : html`<p>Follow it from chat: <code>/tp follow @${source.handle}</code> in Slack, or <code>follow @${source.handle}</code> to the bot in Teams.${source.visibility === 'public' ? html` Or subscribe to its <a href="${feed}">Atom feed</a>.` : ''}</p>`;
    render(kit, req, res, {
      title: `${source.name} (@${source.handle})`,
      active: '',
      noHeading: true,
      body: html`<div class="grid"><section class="card" aria-labelledby="tl-h"><h1 id="tl-h">${initials(source)} ${source.name} <span class="muted">@${source.handle}</span></h1>
${visible ? statusList(tl.items, `@${source.handle} has not posted anything yet.`) : html`<p>@${source.handle} is protected: its owners approve each follower, and only approved followers see its statuses.</p>`}
${visible ? pager(`/@${source.handle}`, tl.next) : ''}</section>
<aside class="card" aria-labelledby="facts-h"><h2 id="facts-h">About</h2><dl class="facts"><dt>Kind</dt><dd>${source.kind}</dd><dt>Visibility</dt><dd>${source.visibility} ${visibilityBadge(source.visibility)}</dd>
${source.kind === 'service' ? html`<dt>Owners</dt><dd>${owners.length ? owners.map((o, i) => html`${i ? ', ' : ''}<a href="/@${o}">@${o}</a>`) : 'none'}</dd>` : ''}
<dt>Followers</dt><dd>${followers.count}</dd></dl><div class="actions">${followUi}</div></aside></div>`,
    });
  });
}

/** `/` for someone not signed in: what this is and how to sign in. */
function landing(kit: Kit, req: Request, res: Response): void {
  render(kit, req, res, { title: 'Sign in to Twitterprise', noHeading: true, body: signInHelp() });
}

export function signInHelp(): Html {
  return html`<div class="hero card"><h1>Sign in to Twitterprise</h1>
<p>Follow the people and services of the company, and choose where their statuses reach you.</p>
<ol><li>In Slack, type <code>/tp web</code> (in Teams, send <code>web</code> to the Twitterprise bot).</li>
<li>Open the link you get: it is yours alone, works once, within 10 minutes.</li>
<li>Press <strong>Sign in</strong>. You stay signed in for 7 days after your last visit.</li></ol>
<p class="muted">Public sources have pages anyone may open, such as the ones in a status's link.</p></div>`;
}
