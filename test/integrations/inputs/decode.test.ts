import { describe, expect, it } from 'vitest';
import { decodeDocument } from '../../../src/integrations/inputs/decode.js';

describe('decodeDocument', () => {
  it('reads windows-1252 (and the ISO-8859-1 labels that mean it) with the euro sign and curly quotes', () => {
    // "€5 “deal” – é" in windows-1252
    const bytes = Buffer.from([0x80, 0x35, 0x20, 0x93, 0x64, 0x65, 0x61, 0x6c, 0x94, 0x20, 0x96, 0x20, 0xe9]);
    for (const ct of ['text/xml; charset=windows-1252', 'text/xml; charset=ISO-8859-1', 'text/xml; charset=latin1']) {
      expect(decodeDocument(bytes, ct), ct).toBe('€5 “deal” – é');
    }
    const prolog = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="windows-1252"?><t>'), Buffer.from([0x80]), Buffer.from('</t>')]);
    expect(decodeDocument(prolog, 'application/xml')).toBe('<?xml version="1.0" encoding="windows-1252"?><t>€</t>');
  });

  it('reads UTF-8 by default and refuses a charset it does not know', () => {
    expect(decodeDocument(Buffer.from('Grüße €', 'utf8'), undefined)).toBe('Grüße €');
    expect(() => decodeDocument(Buffer.from('x'), 'text/xml; charset=klingon-1')).toThrow(/klingon-1/);
  });
});
