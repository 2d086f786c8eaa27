import type { StatusView } from '../../core/messages.js';
import { escapeHtml } from '../../core/html.js';

export interface DigestGroup {
  source: StatusView['source'];
  /** Newest first. */
  statuses: StatusView[];
}

export interface DigestContent {
  period: 'hourly' | 'daily' | 'weekly';
  person: { handle: string; name: string; timezone: string };
  /** Shown statuses grouped by source; the group with the newest status first. */
  groups: DigestGroup[];
  /** Every status in this digest, shown or not. */
  total: number;
  /** Handles of every source in this digest, in group order (including sources only in "more"). */
  sourceHandles: string[];
  /** How the person follows what is inside: "@build", "#deploy", "\"outage\"". */
  followLabels: string[];
  unsubscribeUrl: string;
}

export interface RenderedDigest {
  subject: string;
  text: string;
  html: string;
}


/** Only http(s) links become hrefs; anything else (javascript:, data:) is shown as text. */
function safeHref(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

const CATCHUP_SPAN = { hourly: '1h', daily: '1d', weekly: '7d' } as const;

/**
 * Where the statuses left out of a long digest are: a home timeline needs a token, which a mail client
 * does not have, so the digest points at the chat command that sends them all in one message.
 */
export function moreHint(period: DigestContent['period']): string {
  return `send "catchup ${CATCHUP_SPAN[period]}" to Twitterprise in Slack or Teams to get every one in one message.`;
}

/** "@build", "@build and @jane", "@build, @jane and 3 more". */
export function namesLine(handles: string[], named = 2): string {
  const at = handles.map((h) => `@${h}`);
  if (at.length <= named) return at.length === 2 ? `${at[0]} and ${at[1]}` : (at[0] ?? '');
  return `${at.slice(0, named).join(', ')} and ${at.length - named} more`;
}

/** "@build, #deploy and \"outage\"" */
function listLine(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function when(iso: string, timeZone: string): string {
  const opts: Intl.DateTimeFormatOptions = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  try {
    return new Intl.DateTimeFormat('en-GB', { ...opts, timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: 'UTC' }).format(new Date(iso));
  }
}

export function digestSubject(c: Pick<DigestContent, 'period' | 'total' | 'sourceHandles'>): string {
  return `Twitterprise ${c.period} digest: ${plural(c.total, 'status', 'statuses')} from ${namesLine(c.sourceHandles)}`;
}

function whyLine(c: DigestContent): string {
  const follows = c.followLabels.length ? ` and follow ${listLine(c.followLabels)} via email` : '';
  return `You get this because you set \`digest ${c.period}\`${follows}.`;
}

export function renderDigest(c: DigestContent): RenderedDigest {
  const subject = digestSubject(c);
  const shown = c.groups.reduce((n, g) => n + g.statuses.length, 0);
  const more = c.total - shown;
  const why = whyLine(c);

  const text: string[] = [`${subject}`, ''];
  for (const g of c.groups) {
    text.push(`@${g.source.handle} (${g.source.name})`);
    for (const s of g.statuses) {
      const body = s.text.replace(/\r?\n/g, '\n    ');
      text.push(`  - ${when(s.created_at, c.person.timezone)}: ${body}`, `    ${s.url}`);
    }
    text.push('');
  }
  if (more > 0) text.push(`…and ${plural(more, 'more status', 'more statuses')}: ${moreHint(c.period)}`, '');
  text.push(
    '-- ',
    why,
    `Stop these emails with one click: ${c.unsubscribeUrl}`,
    'or send `digest off` to Twitterprise in Slack or Teams (`unfollow @handle` stops one source).',
  );

  const e = escapeHtml;
  const link = (url: string, label: string) => {
    const href = safeHref(url);
    return href ? `<a href="${e(href)}" style="color:#1d4ed8">${e(label)}</a>` : e(label);
  };
  const html: string[] = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${e(subject)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;color:#111;max-width:640px;margin:0 auto;padding:16px">',
    `<h1 style="font-size:20px;margin:0 0 16px">${e(subject)}</h1>`,
  ];
  for (const g of c.groups) {
    html.push(
      `<h2 style="font-size:16px;margin:20px 0 6px">@${e(g.source.handle)} <span style="font-weight:normal;color:#555">${e(g.source.name)}</span></h2>`,
      '<ul style="padding-left:18px;margin:0">',
    );
    for (const s of g.statuses) {
      const body = e(s.text).replace(/\r?\n/g, '<br>');
      html.push(`<li style="margin:0 0 8px">${body}<br><small style="color:#555">${link(s.url, when(s.created_at, c.person.timezone))}</small></li>`);
    }
    html.push('</ul>');
  }
  if (more > 0) html.push(`<p>…and ${plural(more, 'more status', 'more statuses')}: ${escapeHtml(moreHint(c.period))}</p>`);
  html.push(
    '<hr style="border:none;border-top:1px solid #ddd;margin:24px 0 12px">',
    `<p style="font-size:13px;color:#555">${e(why).replace(/`([^`]+)`/g, '<code>$1</code>')}<br>`,
    `${link(c.unsubscribeUrl, 'Unsubscribe from this digest')} (one click), or send <code>digest off</code> to Twitterprise in Slack or Teams.</p>`,
    '</body></html>',
  );

  return { subject, text: text.join('\n'), html: html.join('\n') };
}
