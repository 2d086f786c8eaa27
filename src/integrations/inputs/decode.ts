import { TextDecoder } from 'node:util';

/**
 * Bytes to text in the charset the document declares. Order: a byte-order mark; the XML prolog's
 * `encoding` (what the document itself says); the Content-Type `charset`; else UTF-8. WHATWG labels
 * (TextDecoder) cover ISO-8859-x, windows-125x, Shift_JIS, EUC-KR, GB18030, KOI8-R and more.
 */
export class UnreadableDocument extends Error {}

function charsetOf(body: Buffer, contentType: string | undefined): string {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  // The prolog is ASCII in every charset a feed may use but UTF-16 (handled by the BOM above).
  const head = body.subarray(0, 256).toString('latin1');
  const prolog = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head);
  if (prolog) return prolog[1]!;
  const header = contentType ? /;\s*charset\s*=\s*"?([A-Za-z0-9._:-]+)"?/i.exec(contentType) : null;
  return header ? header[1]! : 'utf-8';
}

/**
 * windows-1252's 0x80-0x9F (the euro sign, curly quotes, dashes). WHATWG makes every ISO-8859-1 and
 * ASCII label mean windows-1252, but Node's TextDecoder (ICU 78 here) answers those bytes with C1 control
 * characters, so they are mapped here; the five bytes windows-1252 leaves undefined stay as they were.
 */
const CP1252_HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
const CP1252_LABELS = new Set(['windows-1252', 'cp1252', 'x-cp1252', 'cp819', 'ibm819', 'iso-8859-1', 'iso8859-1', 'iso88591', 'iso_8859-1', 'iso_8859-1:1987', 'iso-ir-100', 'l1', 'latin1', 'csisolatin1', 'us-ascii', 'ascii', 'ansi_x3.4-1968']);

export function decodeDocument(body: Buffer, contentType: string | undefined): string {
  const charset = charsetOf(body, contentType);
  if (CP1252_LABELS.has(charset.toLowerCase())) return body.toString('latin1').replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset.toLowerCase());
  } catch {
    throw new UnreadableDocument(`the document's charset "${charset}" is not one we can read`);
  }
  return decoder.decode(body);
}
