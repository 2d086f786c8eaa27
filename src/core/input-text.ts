/**
 * The one normalisation of text people send us (chat messages, slash commands, API and hook bodies,
 * XMPP and SMS messages). Every door calls `normalizeInputText` on the text BEFORE it makes any
 * decision about it (is it a command? which one? may it run here?) and hands the same normalised
 * string to the shared parser. A door that looked at the raw text while the parser looked at a
 * cleaned one could decide differently from the parser: `\u0085token` was not `token` for the Teams
 * adapter's own check, yet the parser (which strips control characters) ran it.
 *
 * What it does, in order:
 * 1. `\r\n` and a lone `\r` become `\n`; U+2028 / U+2029 (line / paragraph separator) become `\n` too.
 * 2. Removed, because nobody can see them and they only serve to make two texts look alike while
 *    they differ (or to reorder what a reader sees, "Trojan Source", CVE-2021-42574):
 *    - C0 controls but `\t` and `\n` (NUL, ESC, ...), DEL, C1 controls (U+0080 to U+009F, NEL included);
 *    - zero-width space U+200B, word joiner U+2060, invisible operators U+2061 to U+2064, BOM / ZWNBSP
 *      U+FEFF, Mongolian vowel separator U+180E, soft hyphen U+00AD, interlinear annotation U+FFF9 to U+FFFB;
 *    - bidi embeddings and overrides U+202A to U+202E and isolates U+2066 to U+2069;
 *    - tag characters U+E0000 to U+E007F ("ASCII smuggling"), except inside an emoji tag sequence
 *      (a subdivision flag: U+1F3F4 followed by tags).
 *    Kept: zero-width joiner and non-joiner (U+200D, U+200C: emoji sequences, Persian and Indic
 *    scripts need them), left-to-right / right-to-left / Arabic letter marks (U+200E, U+200F, U+061C:
 *    ordinary punctuation of right-to-left writing), variation selectors.
 * 3. A lone UTF-16 surrogate (not text; PostgreSQL refuses it in JSON) becomes U+FFFD.
 * 4. Unicode NFC: the same letters typed on two keyboards (`é` as one code point or `e` + accent) are
 *    the same string. NFKC is NOT applied: it rewrites what people wrote (`x²` -> `x2`, `™` -> `TM`,
 *    `ﬁ` -> `fi`, half-width katakana), and statuses are stored as written. Nothing is lost by it:
 *    handles and command words are ASCII, so a full-width `ｔｏｋｅｎ` is not `token` for any door.
 * 5. Trimmed (JavaScript's whitespace, which includes NBSP and the other Unicode spaces).
 *
 * Pure, linear in the length of the text (no backtracking regexes, no lookbehind that scans back), idempotent.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u180E\u200B\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uFFF9-\uFFFB]/g;

/** Tag characters are astral: U+E0000 to U+E007F is the high surrogate U+DB40 and a low one from U+DC00 to U+DC7F. */
const TAG_HIGH = 0xdb40;
const BLACK_FLAG = '\u{1F3F4}';

/** Removes tag characters, keeping a tag sequence that follows U+1F3F4 (one pass, no lookbehind). */
function dropTags(s: string): string {
  if (!s.includes('\uDB40')) return s;
  let out = '';
  let inFlag = false;
  for (const ch of s) {
    const isTag = ch.length === 2 && ch.charCodeAt(0) === TAG_HIGH && ch.charCodeAt(1) <= 0xdc7f;
    if (!isTag) {
      inFlag = ch === BLACK_FLAG;
      out += ch;
      continue;
    }
    if (inFlag) {
      out += ch;
      // U+E007F CANCEL TAG ends the sequence.
      if (ch.charCodeAt(1) === 0xdc7f) inFlag = false;
    }
  }
  return out;
}

/** A UTF-16 half without its other half. */
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function normalizeInputText(text: string): string {
  return dropTags(text)
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(INVISIBLE_RE, '')
    .replace(LONE_SURROGATE_RE, '\uFFFD')
    .normalize('NFC')
    .trim();
}
