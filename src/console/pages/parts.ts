import type { DirectoryEntry } from '../../app/directory.js';
import type { StatusView } from '../../core/messages.js';
import { html, type Html } from '../../web/html.js';
import { backTo } from '../kit.js';
import { initials, timeTag } from '../layout.js';

/** One status in a list: who, what, when (the time links to its page). */
export function statusItem(v: StatusView): Html {
  return html`<article class="status" aria-label="Status by @${v.source.handle}">
  <div class="meta"><a href="/@${v.source.handle}"><strong>${v.source.name}</strong> @${v.source.handle}</a>${v.source.kind === 'service' ? html` <span class="badge">service</span>` : ''} · <a href="${v.url}">${timeTag(v.created_at)}</a></div>
  <p class="text">${v.text}</p>
</article>`;
}

export function statusList(items: StatusView[], empty: Html | string): Html {
  return items.length ? html`<div>${items.map(statusItem)}</div>` : html`<p class="muted">${empty}</p>`;
}

export const visibilityBadge = (v: string) => (v === 'protected' ? html`<span class="badge warn">protected</span>` : html``);

/**
 * The follow control for one source: follow, request (protected), requested (cancel), following (unfollow).
 * With JavaScript, htmx posts it and swaps the row in place; without, it is a POST and a redirect.
 */
export function followButton(e: Pick<DirectoryEntry, 'handle' | 'visibility' | 'followState'>, selfId: boolean, back: string, rowId?: string): Html {
  if (selfId) return html`<span class="badge brand">you</span>`;
  const form = (act: 'follow' | 'unfollow', label: string, cls: string, described: string) => {
    const hx = rowId ? html` hx-post="/${act}" hx-target="#${rowId}" hx-swap="outerHTML"` : '';
    return html`<form class="inline" method="post" action="/${act}"${hx}>${backTo(back)}<input type="hidden" name="handle" value="${e.handle}"><button class="small ${cls}" type="submit" aria-label="${described}">${label}</button></form>`;
  };
  if (e.followState === 'pending') return form('unfollow', 'Requested · cancel', 'secondary', `Cancel your request to follow @${e.handle}`);
  if (e.followState) return form('unfollow', 'Unfollow', 'secondary', `Unfollow @${e.handle}`);
  return e.visibility === 'protected' ? form('follow', 'Request to follow', '', `Request to follow @${e.handle}`) : form('follow', 'Follow', '', `Follow @${e.handle}`);
}

export function directoryRow(e: DirectoryEntry, viewerId: string | null, back: string): Html {
  const rowId = `src-${e.handle}`;
  return html`<li id="${rowId}">${initials(e)}
  <div class="grow"><a href="/@${e.handle}"><strong>${e.name}</strong></a> <span class="muted">@${e.handle}</span> <span class="badge">${e.kind}</span> ${visibilityBadge(e.visibility)}</div>
  ${viewerId ? followButton(e, e.id === viewerId, back, rowId) : ''}
</li>`;
}
