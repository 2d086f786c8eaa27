import type { Activity, Attachment } from 'botbuilder';
import { plainText, type OutboundMessage, type StatusView } from '../../core/messages.js';
import type { Reply } from '../../core/types.js';

/** Adaptive Cards (https://adaptivecards.io/explorer/): version 1.4 renders on Teams desktop, web and mobile. */
export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
const VERSION = '1.4';

export type CardElement = Record<string, unknown>;
export interface AdaptiveCard {
  type: 'AdaptiveCard';
  version: string;
  body: CardElement[];
  actions?: CardElement[];
  fallbackText: string;
}

/** `data` of the Approve / Deny buttons; Teams sends it back as the `value` of a message activity. */
export interface FollowDecisionData {
  action: 'tp.approve' | 'tp.deny';
  followId: string;
}

/** Teams keeps a card message under about 28 KB; a summary lists at most this many statuses. */
const MAX_SUMMARY_ITEMS = 25;

/**
 * TextBlocks render a markdown subset: in text someone else wrote, `[click here](http://x)` would be a
 * link that hides where it goes. Its brackets (and backslashes) are escaped (CommonMark), so it shows
 * as typed; a bare URL still shows itself. Only links we write ourselves are live (docs/security.md,
 * class 1, the Teams side). Emphasis is left alone: it restyles, it does not deceive.
 */
export const escapeCardMarkdown = (s: string): string => s.replace(/[\\[\]]/g, (c) => `\\${c}`);
const md = escapeCardMarkdown;

const text = (t: string, extra: CardElement = {}): CardElement => ({ type: 'TextBlock', text: t, wrap: true, ...extra });
const subtle = (t: string): CardElement => text(t, { isSubtle: true, size: 'Small', spacing: 'Small' });

/** Adaptive Card date functions want RFC 3339 without fractions: 2026-11-23T10:00:00Z. */
const rfc3339 = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');
/** Rendered in the reader's own time zone and locale by Teams. */
const when = (iso: string) => `{{DATE(${rfc3339(iso)}, SHORT)}} {{TIME(${rfc3339(iso)})}}`;

const byline = (s: StatusView) => `**${md(s.source.name)}** @${s.source.handle}`;

function card(body: CardElement[], fallbackText: string, actions?: CardElement[]): AdaptiveCard {
  return { type: 'AdaptiveCard', version: VERSION, body, ...(actions?.length ? { actions } : {}), fallbackText };
}

export function statusCard(s: StatusView, why: string, offHint: string): AdaptiveCard {
  return card(
    [text(byline(s), { spacing: 'None' }), text(md(s.text)), subtle(`${when(s.created_at)} · ${md(why)}. ${md(offHint)}`)],
    plainText({ kind: 'status', status: s, why, offHint }),
    [{ type: 'Action.OpenUrl', title: 'Open', url: s.url }],
  );
}

export function followRequestCard(m: Extract<OutboundMessage, { kind: 'follow_request' }>): AdaptiveCard {
  const data = (action: FollowDecisionData['action']): FollowDecisionData => ({ action, followId: m.followId });
  return card(
    [text('Follow request', { weight: 'Bolder' }), text(`**${md(m.requester.name)}** @${m.requester.handle} asks to follow @${m.source.handle}.`)],
    plainText(m),
    [
      { type: 'Action.Submit', title: 'Approve', style: 'positive', data: data('tp.approve') },
      { type: 'Action.Submit', title: 'Deny', style: 'destructive', data: data('tp.deny') },
    ],
  );
}

/** The follow-request card once decided: the buttons are gone, the outcome says who decided. */
export function decidedCard(requester: string, sourceHandle: string, outcome: string): AdaptiveCard {
  const line = `${requester} asked to follow @${sourceHandle}.`;
  return card([text('Follow request', { weight: 'Bolder' }), text(md(line)), subtle(md(outcome))], `${line} ${outcome}`);
}

export function messageCard(m: OutboundMessage): AdaptiveCard {
  switch (m.kind) {
    case 'status':
      return statusCard(m.status, m.why, m.offHint);
    case 'follow_request':
      return followRequestCard(m);
    case 'notice':
      return card([text(md(m.text))], plainText(m));
    case 'direct':
      return card([subtle(`Direct message from **${md(m.from.name)}** @${m.from.handle}`), text(md(m.text))], plainText(m));
    case 'summary': {
      const shown = m.items.slice(0, MAX_SUMMARY_ITEMS);
      const more = m.more + (m.items.length - shown.length);
      const body: CardElement[] = [text(md(m.title), { weight: 'Bolder' })];
      for (const s of shown) body.push(text(`**@${s.source.handle}** ${md(s.text)}`, { spacing: 'Small' }), subtle(`${when(s.created_at)} · [Open](${s.url})`));
      if (more > 0) body.push(subtle(`…and ${more} more`));
      return card(body, plainText({ ...m, items: shown, more }));
    }
  }
}

export function cardAttachment(c: AdaptiveCard): Attachment {
  return { contentType: ADAPTIVE_CARD, content: c };
}

/**
 * A message carrying one card. The plain-text form goes in `summary` (Teams shows it in notifications
 * and the chat list) and in the card's `fallbackText` (clients that cannot render the card).
 * Not in `text`: Teams renders `text` above the card, which would show everything twice.
 */
export function cardMessage(c: AdaptiveCard): Partial<Activity> {
  return { type: 'message', summary: c.fallbackText, attachments: [cardAttachment(c)] };
}

export function outboundActivity(m: OutboundMessage): Partial<Activity> {
  return cardMessage(messageCard(m));
}

/** The plain text of a command reply. Its `text` carries everything (title and lines are the same, structured). */
export function replyText(r: Reply): string {
  return r.text || [r.title, ...(r.lines ?? []).map((l) => `• ${l}`)].filter((x) => x).join('\n');
}

export function replyActivity(r: Reply): Partial<Activity> {
  return { type: 'message', text: replyText(r), textFormat: 'plain' };
}
