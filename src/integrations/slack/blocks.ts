import type { types } from '@slack/bolt';
import type { OutboundMessage, StatusView } from '../../core/messages.js';
import type { Reply } from '../../core/types.js';
import { ACTION_APPROVE, ACTION_DENY } from './scopes.js';

export type Block = types.KnownBlock;

/** Slack mrkdwn: only &, < and > must be escaped (https://docs.slack.dev/messaging/formatting-message-text). */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A link label may not contain `|` or `>`. */
const linkLabel = (s: string) => escapeMrkdwn(s).replace(/\|/g, '¦');

export function link(url: string, label: string): string {
  return `<${url.replace(/[<>|]/g, encodeURIComponent)}|${linkLabel(label)}>`;
}

/** Rendered by each reader's Slack in their own time zone; the fallback is UTC. */
export function slackDate(iso: string): string {
  const d = new Date(iso);
  const unix = Math.floor(d.getTime() / 1000);
  const fallback = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${unix}^{date_short_pretty} at {time}|${fallback}>`;
}

// Block Kit limits: section text 3,000 characters, header 150, context element 2,000, 50 blocks a message.
const clip = (s: string, max: number) => ([...s].length <= max ? s : `${[...s].slice(0, max - 1).join('')}…`);
const mrkdwn = (text: string) => ({ type: 'mrkdwn' as const, text: clip(text, 2900) });
const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });
const context = (...texts: string[]): Block => ({ type: 'context', elements: texts.map((t) => ({ type: 'mrkdwn' as const, text: clip(t, 1900) })) });
const header = (text: string): Block => ({ type: 'header', text: { type: 'plain_text', text: clip(text, 150), emoji: true } });

function sourceLine(s: StatusView): string {
  const kind = s.source.kind === 'service' ? ' · service' : '';
  return `*@${escapeMrkdwn(s.source.handle)}* ${escapeMrkdwn(s.source.name)}${kind}`;
}

function statusBlocks(s: StatusView): Block[] {
  return [section(`${sourceLine(s)}\n${escapeMrkdwn(s.text)}`), context(`${slackDate(s.created_at)} · ${link(s.url, 'link')}`)];
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

/**
 * A command reply. A list reply's text already carries its title and lines; with them the blocks show
 * the title in bold and the lines as a list, without repeating the text.
 */
export function replyBlocks(r: Reply): Block[] {
  if (!r.title && !r.lines?.length) return sections(r.text.split('\n').map(escapeMrkdwn));
  const head = r.title ? [section(`*${escapeMrkdwn(r.title)}*`)] : [];
  return [...head, ...sections((r.lines ?? []).map((l) => `• ${escapeMrkdwn(l)}`), 50 - head.length)];
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

/** A reply as a Slack message: the text carries everything (notifications, clients without blocks). */
export function replyMessage(r: Reply): { text: string; blocks?: Block[] } {
  const blocks = replyBlocks(r);
  return blocks.length ? { text: r.text, blocks } : { text: r.text };
}
