import { rule } from '../errors.js';

export const MAX_STATUS_CHARS = 1000;

/**
 * Control characters are stripped, not rejected: chat clients and copy-paste leave invisible ones
 * behind (a stray \u0000, \u001b or \u0085), and a person cannot see what they would have to remove.
 * Kept: \n and \t; \r\n and a lone \r become \n. Every other character is kept verbatim, including
 * zero-width and right-to-left marks, which some languages need.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** A UTF-16 half without its other half: not text, and PostgreSQL refuses it in JSON. */
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function cleanText(raw: string): string {
  return raw.replace(/\r\n?/g, '\n').replace(CONTROL_RE, '').replace(LONE_SURROGATE_RE, '\uFFFD');
}

/** Length in Unicode code points, the way a person counts characters (an emoji is one). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/**
 * A status (or direct message) text, trimmed, of 1 to 1,000 characters; otherwise a `rule` error
 * naming the length. `what` starts the sentence: "A status", "A direct message".
 */
export function checkStatusText(raw: string, usage: string, what = 'A status'): string {
  const text = raw.trim();
  const n = codePointLength(text);
  if (n === 0) throw rule(`${what} needs some text (1 to 1,000 characters).`, usage);
  if (n > MAX_STATUS_CHARS) {
    throw rule(`${what} is at most 1,000 characters; this one has ${n.toLocaleString('en')}.`, usage);
  }
  return text;
}

/** A piece of what the person typed, quoted for an error sentence and cut short. */
export function quote(s: string, max = 40): string {
  // 4 * max UTF-16 units hold more than `max` code points whenever the text is longer than that.
  const cps = Array.from(s.slice(0, max * 4));
  return cps.length > max ? `"${cps.slice(0, max).join('')}…"` : `"${cps.join('')}"`;
}
