import { invalid } from './errors.js';

/**
 * Follow filters: `+#tag` (must carry the tag), `-word` / `-#tag` (must not).
 * Stored normalised: lowercase, with their sign.
 */
const FILTER_RE = /^([+-])(#?)([\p{L}\p{N}_][\p{L}\p{N}_-]{0,63})$/u;

export function parseFilter(raw: string): string {
  const m = FILTER_RE.exec(raw.trim());
  if (!m || (m[1] === '+' && m[2] !== '#')) {
    throw invalid(`"${raw}" is not a filter. Use +#tag (must carry the tag), -word or -#tag (must not).`, 'follow @handle +#deploy -flaky');
  }
  return `${m[1]}${m[2]}${m[3]!.toLowerCase()}`;
}

/** Does a status (its lowercase tags and words) pass every filter? */
export function passesFilters(filters: readonly string[], s: { tags: readonly string[]; words: readonly string[] }): boolean {
  for (const f of filters) {
    const sign = f[0];
    const isTag = f[1] === '#';
    const term = isTag ? f.slice(2) : f.slice(1);
    const present = isTag ? s.tags.includes(term) : s.words.includes(term) || s.tags.includes(term);
    if (sign === '+' && !present) return false;
    if (sign === '-' && present) return false;
  }
  return true;
}
