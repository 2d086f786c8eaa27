import type { ConsoleSession } from '../app/sessions.js';
import { html, type Html, type HtmlValue } from '../web/html.js';

/** Where the console's own files are served (same origin: CSP script-src and style-src 'self'). */
export const ASSETS = '/console/assets';

export interface NavItem {
  href: string;
  label: string;
  admin?: boolean;
}

export const NAV: NavItem[] = [
  { href: '/', label: 'Home' },
  { href: '/directory', label: 'Directory' },
  { href: '/following', label: 'Following' },
  { href: '/followers', label: 'Followers' },
  { href: '/services', label: 'My services' },
  { href: '/webhooks', label: 'Webhooks' },
  { href: '/deliveries', label: 'Deliveries' },
  { href: '/tokens', label: 'Tokens' },
  { href: '/settings', label: 'Settings' },
  { href: '/admin', label: 'Admin', admin: true },
];

export interface PageInput {
  title: string;
  session: ConsoleSession | null;
  /** The nav entry to mark as the current page. */
  active?: string;
  flash?: { kind: 'ok' | 'error'; text: string } | null;
  /** A line under the heading. */
  lead?: HtmlValue;
  body: HtmlValue;
  /** Hide the page's own h1 (the body brings one). */
  noHeading?: boolean;
}

export const initials = (s: { handle: string; kind: string }) =>
  html`<span class="avatar${s.kind === 'service' ? ' service' : ''}" aria-hidden="true">${s.handle.slice(0, 1).toUpperCase()}</span>`;

/**
 * The one layout. htmx is served from the app; `includeIndicatorStyles: false` keeps it from injecting a
 * <style> the CSP refuses (our CSS styles the indicators). `hx-boost` turns links and forms into
 * in-place updates; without JavaScript they are ordinary links and POST-redirect forms.
 */
export function layout(p: PageInput): Html {
  const s = p.session;
  const nav = s
    ? html`<nav class="main" aria-label="Console"><ul>${NAV.filter((n) => !n.admin || s.isAdmin).map(
        (n) => html`<li><a href="${n.href}"${p.active === n.href ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
      )}</ul></nav>`
    : '';
  const who = s
    ? html`<span class="who">Signed in as <strong>@${s.person.handle}</strong>${s.isAdmin ? ' (admin)' : ''}</span>
        <form class="inline" method="post" action="/sign-out"><button class="link" type="submit">Sign out</button></form>`
    : html`<a class="who" href="/sign-in">Sign in</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0}'>
<meta name="referrer" content="same-origin">
<title>${p.title} · Twitterprise</title>
<link rel="stylesheet" href="${ASSETS}/console.css">
<script src="${ASSETS}/htmx.min.js" defer></script>
</head>
<body hx-boost="true">
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="bar"><a class="brand" href="/"><span class="dot" aria-hidden="true"></span>Twitterprise</a>${who}</div></header>
${nav}
<main id="main" tabindex="-1">
${p.noHeading ? '' : html`<h1>${p.title}</h1>`}
${p.lead ? html`<p class="lead">${p.lead}</p>` : ''}
<div id="flash" role="status" aria-live="polite">${p.flash ? html`<div class="flash ${p.flash.kind}">${p.flash.text}</div>` : ''}</div>
${p.body}
</main>
<footer class="foot"><a href="/api/docs">API reference</a> · <a href="/directory">Directory</a></footer>
</body>
</html>`;
}

/** `2026-11-23 10:00 UTC` */
export const when = (d: Date | string | null | undefined): string => {
  if (!d) return '';
  const iso = typeof d === 'string' ? d : d.toISOString();
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
};

export const timeTag = (d: Date | string | null | undefined): Html => {
  if (!d) return html``;
  const iso = typeof d === 'string' ? d : d.toISOString();
  return html`<time datetime="${iso}">${when(iso)}</time>`;
};
