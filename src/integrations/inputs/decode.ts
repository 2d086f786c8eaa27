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

export function decodeDocument(body: Buffer, contentType: string | undefined): string {
  const charset = charsetOf(body, contentType);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset.toLowerCase());
  } catch {
    throw new UnreadableDocument(`the document's charset "${charset}" is not one we can read`);
  }
  return decoder.decode(body);
}
