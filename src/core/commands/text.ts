import { rule } from '../errors.js';

export const MAX_STATUS_CHARS = 1000;

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
