import type { types } from '@slack/bolt';
import { parseEntities } from '../../core/entities.js';
import { plainText, type OutboundMessage, type StatusView } from '../../core/messages.js';
import type { Reply } from '../../core/types.js';
import { ACTION_APPROVE, ACTION_DENY } from './scopes.js';

export type Block = types.KnownBlock;

/**
 * Slack mrkdwn: only &, < and > must be escaped (https://docs.slack.dev/messaging/formatting-message-text).
 * Escaped, `<!channel>`, `<!here>`, `<@U123>`, `<!subteam^S1>` and `<http://x|click here>` are shown as
 * typed and ping or link nobody. EVERY string we send to Slack in a field Slack parses (a message's `text`,
 * its notification fallback, mrkdwn text objects, ephemeral replies, button-click answers) goes through
 * this or is `plain_text`; the only live `<...>` are the ones built by `link` and `slackDate` below.
 * (Security: docs/security.md, class 1.)
 */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The top-level `text` of a message (Slack parses it and shows it in notifications): escaped. */
export const slackText = escapeMrkdwn;

/**
 * A status's text in mrkdwn: escaped, with the URLs our entity parser found turned into links we build
 * (the text object is `verbatim`, so Slack itself links nothing and parses no mention in it).
 */
export function statusMrkdwn(text: string, urls: readonly string[]): string {
  if (!urls.length) return escapeMrkdwn(text);
  let out = '';
  let at = 0;
  for (const url of urls) {
    if (!/^https?:\/\//i.test(url)) continue;
    const i = text.indexOf(url, at);
    if (i < 0) continue;
    out += `${escapeMrkdwn(text.slice(at, i))}${link(url, url)}`;
    at = i + url.length;
  }
  return out + escapeMrkdwn(text.slice(at));
}

/** A link label may not contain `|` or `>`. */
const linkLabel = (s: string) => escapeMrkdwn(s).replace(/\|/g, '¦');

export function link(url: string, label: string): string {
  return `<${url.replace(/[<>|&]/g, (c) => (c === '&' ? '&amp;' : encodeURIComponent(c)))}|${linkLabel(label)}>`;
}

/** Rendered by each reader's Slack in their own time zone; the fallback is UTC. */
export function slackDate(iso: string): string {
  const d = new Date(iso);
  const unix = Math.floor(d.getTime() / 1000);
  const fallback = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${unix}^{date_short_pretty} at {time}|${fallback}>`;
}

// Block Kit limits: section text 3,000 characters, header 150, context element 2,000, 50 blocks a message.
/**
 * Cut to a Block Kit limit (in code points) without splitting an escape (`&amp;`) or a `<...>` we built:
 * half of one would show as garbage.
 */
export function clipMrkdwn(s: string, max = 2900): string {
  const cps = [...s];
  if (cps.length <= max) return s;
  let cut = cps.slice(0, max - 1).join('');
  const lt = cut.lastIndexOf('<');
  if (lt > cut.lastIndexOf('>')) cut = cut.slice(0, lt);
  const amp = cut.lastIndexOf('&');
  if (amp >= 0 && !cut.includes(';', amp)) cut = cut.slice(0, amp);
  return `${cut}…`;
}
const clip = clipMrkdwn;
/** `verbatim`: Slack links and parses nothing in it by itself (no auto-linked URL, channel name or mention). */
const mrkdwn = (text: string) => ({ type: 'mrkdwn' as const, text: clip(text, 2900), verbatim: true });
const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });
const context = (...texts: string[]): Block => ({ type: 'context', elements: texts.map((t) => ({ type: 'mrkdwn' as const, text: clip(t, 1900), verbatim: true })) });
const header = (text: string): Block => ({ type: 'header', text: { type: 'plain_text', text: clip(text, 150), emoji: true } });

function sourceLine(s: StatusView): string {
  const kind = s.source.kind === 'service' ? ' · service' : '';
  return `*@${escapeMrkdwn(s.source.handle)}* ${escapeMrkdwn(s.source.name)}${kind}`;
}

function statusBlocks(s: StatusView): Block[] {
  return [section(`${sourceLine(s)}\n${statusMrkdwn(s.text, s.entities.urls)}`), context(`${slackDate(s.created_at)} · ${link(s.url, 'link')}`)];
}

/** Block Kit for every outbound message kind. The plain `text` fallback comes from `plainText`. */
export function renderBlocks(m: OutboundMessage): Block[] {
  switch (m.kind) {
    case 'status':
      return [...statusBlocks(m.status), context(`${escapeMrkdwn(m.why)}. ${escapeMrkdwn(m.offHint)}`)];
    case 'notice':
      return [section(escapeMrkdwn(m.text))];
    case 'direct':
      return [context(`Direct message from *@${escapeMrkdwn(m.from.handle)}* ${escapeMrkdwn(m.from.name)}`), section(escapeMrkdwn(m.text))];
    case 'follow_request':
      return [
        section(
          `*@${escapeMrkdwn(m.requester.handle)}* (${escapeMrkdwn(m.requester.name)}) asks to follow *@${escapeMrkdwn(m.source.handle)}*.`,
        ),
        {
          type: 'actions',
          block_id: `follow_request:${m.followId}`,
          elements: [
            { type: 'button', action_id: ACTION_APPROVE, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: m.followId },
            { type: 'button', action_id: ACTION_DENY, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: m.followId },
          ],
        },
        context(`Or type \`/tp approve @${escapeMrkdwn(m.requester.handle)}\` or \`/tp deny @${escapeMrkdwn(m.requester.handle)}\`.`),
      ];
    case 'summary': {
      // 50 blocks at most: the header, two per status, and the "more" line.
      const room = Math.floor((50 - 2) / 2);
      const shown = m.items.slice(0, room);
      const more = m.more + (m.items.length - shown.length);
      const blocks: Block[] = [header(m.title)];
      for (const s of shown) blocks.push(...statusBlocks(s));
      if (more > 0) blocks.push(context(`…and ${more} more`));
      return blocks;
    }
  }
}

/** A line of a reply: escaped, its URLs (a sign-in link, a feed) made links by us since the blocks are verbatim. */
const replyMrkdwn = (line: string) => statusMrkdwn(line, parseEntities(line).urls);

/**
 * A command reply. A list reply's text already carries its title and lines; with them the blocks show
 * the title in bold and the lines as a list, without repeating the text.
 */
export function replyBlocks(r: Reply): Block[] {
  if (!r.title && !r.lines?.length) return sections(r.text.split('\n').map(replyMrkdwn));
  const head = r.title ? [section(`*${escapeMrkdwn(r.title)}*`)] : [];
  return [...head, ...sections((r.lines ?? []).map((l) => `• ${replyMrkdwn(l)}`), 50 - head.length)];
}

/** Lines packed into as few sections as the per-section limit allows, at most `max` blocks. */
function sections(lines: string[], max = 50): Block[] {
  const blocks: Block[] = [];
  let chunk = '';
  for (const next of lines) {
    if (chunk && chunk.length + next.length + 1 > 2900) {
      blocks.push(section(chunk));
      chunk = '';
      if (blocks.length >= max) return blocks;
    }
    chunk = chunk ? `${chunk}\n${next}` : next;
  }
  if (chunk.trim() && blocks.length < max) blocks.push(section(chunk));
  return blocks;
}

/** A reply as a Slack message: the text carries everything (notifications, clients without blocks), escaped. */
export function replyMessage(r: Reply): { text: string; blocks?: Block[]; unfurl_links?: false; unfurl_media?: false } {
  const blocks = replyBlocks(r);
  const text = slackText(r.text);
  // A one-time link (`web`) must not be fetched by Slack's link preview.
  const previews = r.noPreview ? { unfurl_links: false as const, unfurl_media: false as const } : {};
  return blocks.length ? { text, blocks, ...previews } : { text, ...previews };
}

/** An outbound message (status, notice, DM, follow request, summary) as chat.postMessage fields. */
export function outboundMessage(m: OutboundMessage): { text: string; blocks: Block[] } {
  return { text: slackText(plainText(m)), blocks: renderBlocks(m) };
}

/** A one-section message for a sentence of ours that may quote what someone typed (escaped everywhere). */
export function sentenceMessage(sentence: string): { text: string; blocks: Block[] } {
  return { text: slackText(sentence), blocks: [section(escapeMrkdwn(sentence))] };
}
