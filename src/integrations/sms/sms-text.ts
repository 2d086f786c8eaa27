/**
 * What one status text says (SPEC section 9): the source, the status text cut to at most 160 GSM-7 or 70
 * UCS-2 characters, then the status URL. A body longer than one segment still goes as ONE message: the
 * provider splits it into a concatenated SMS (UDH) that the phone shows as one text.
 */

// GSM 03.38 default alphabet, and the extension table whose characters take two septets (ESC + char).
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENDED = '^{}\\[~]|€\f';
const BASIC = new Set(GSM7_BASIC);
const EXTENDED = new Set(GSM7_EXTENDED);

/** Status text limits, in the units of each encoding. */
export const GSM7_LIMIT = 160;
export const UCS2_LIMIT = 70;

export const isGsm7 = (s: string): boolean => [...s].every((c) => BASIC.has(c) || EXTENDED.has(c));

/** Septets a GSM-7 string takes (extension characters count two). */
export const gsm7Length = (s: string): number => [...s].reduce((n, c) => n + (EXTENDED.has(c) ? 2 : 1), 0);

/**
 * `text` cut to fit `limit` units of its encoding, ending with an ellipsis when cut ("..." in GSM-7,
 * where "…" does not exist; "…" in UCS-2). Never splits a surrogate pair.
 */
export function cutText(text: string, gsm7: boolean): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const size = (s: string) => (gsm7 ? gsm7Length(s) : s.length);
  const limit = gsm7 ? GSM7_LIMIT : UCS2_LIMIT;
  if (size(flat) <= limit) return flat;
  const ellipsis = gsm7 ? '...' : '…';
  let out = '';
  for (const c of flat) {
    if (size(out + c) + size(ellipsis) > limit) break;
    out += c;
  }
  return `${out.trimEnd()}${ellipsis}`;
}

/** `@build: Deploy 42 is green` + newline + URL. The cut depends on whether the whole message stays GSM-7. */
export function statusText(handle: string, text: string, url: string): string {
  const gsm7 = isGsm7(`@${handle}: ${text} ${url}`);
  return `@${handle}: ${cutText(text, gsm7)}\n${url}`;
}

/** The one text that stands for the statuses held back by the hourly cap. */
export function summaryText(waiting: Readonly<Record<string, number>>, perHour: number): string {
  const entries = Object.entries(waiting).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = entries.reduce((n, [, c]) => n + c, 0);
  const shown = entries.slice(0, 5).map(([h, n]) => `@${h} ${n}`);
  const more = entries.length > 5 ? `, ${entries.length - 5} more sources` : '';
  const first = entries[0]?.[0] ?? 'handle';
  return `${total} status${total === 1 ? '' : 'es'} not texted (limit ${perHour} texts an hour): ${shown.join(', ')}${more}. Reply "get ${first}" for the latest.`;
}
