/**
 * Slack message text as people meant it. Slack sends `&`, `<`, `>` escaped and wraps user mentions
 * (`<@U123>`, `<@U123|jane>` when the slash command escapes them), channels (`<#C1|general>`),
 * special mentions (`<!here>`) and links (`<https://x|label>`) in angle brackets.
 */
const TOKEN_RE = /<([@#!]?)([^>|]+)(?:\|([^>]*))?>/g;

export function userMentionIds(text: string): string[] {
  const ids = new Set<string>();
  for (const m of text.matchAll(TOKEN_RE)) if (m[1] === '@' && m[2]) ids.add(m[2]);
  return [...ids];
}

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * Plain text with each user mention replaced by `@handle` (from `handles`, by Slack user id), channels
 * by `#name`, links by their URL (mailto: by the address) and special mentions by `@here` etc.
 */
export function toPlainText(text: string, handles: ReadonlyMap<string, string>): string {
  const out = text.replace(TOKEN_RE, (_all, sigil: string, body: string, label: string | undefined) => {
    if (sigil === '@') {
      const h = handles.get(body);
      return h ? `@${h}` : `@${label ?? body}`;
    }
    if (sigil === '#') return `#${label ?? body}`;
    if (sigil === '!') {
      if (body.startsWith('date^')) return label ?? '';
      const name = label ?? body.split('^')[0] ?? body;
      return name.startsWith('@') ? name : `@${name}`;
    }
    if (body.startsWith('mailto:')) return body.slice('mailto:'.length);
    return body;
  });
  return unescape(out);
}
