import { describe, expect, it } from 'vitest';
import { normalizeInputText } from '../../src/core/input-text.js';
import { parseCommand } from '../../src/core/commands/parse.js';

describe('normalizeInputText: the one normalisation of inbound text', () => {
  it('removes C0 and C1 controls (NUL, ESC, U+0001, U+0085 NEL, DEL) wherever they are, keeping \\n and \\t', () => {
    for (const c of ['\u0000', '\u0001', '\u001b', '\u0085', '\u007f', '\u009f', '\u0008']) {
      expect(normalizeInputText(`${c}token`)).toBe('token');
      expect(normalizeInputText(`to${c}ken`)).toBe('token');
      expect(normalizeInputText(`token${c}`)).toBe('token');
    }
    expect(normalizeInputText('a\nb\tc')).toBe('a\nb\tc');
  });

  it('turns every line break form into \\n', () => {
    expect(normalizeInputText('a\r\nb\rc\u2028d\u2029e')).toBe('a\nb\nc\nd\ne');
  });

  it('removes zero-width and invisible format characters, bidi embeddings, overrides and isolates', () => {
    const invisible = ['\u200b', '\u2060', '\u2061', '\u2064', '\ufeff', '\u180e', '\u00ad', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\ufff9', '\ufffb'];
    for (const c of invisible) expect(normalizeInputText(`to${c}ken`), c.codePointAt(0)!.toString(16)).toBe('token');
  });

  it('keeps what writing needs: ZWJ emoji sequences, ZWNJ, direction marks, variation selectors, subdivision flags', () => {
    const family = '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}';
    expect(normalizeInputText(family)).toBe(family);
    expect(normalizeInputText('\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645')).toBe('\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645');
    expect(normalizeInputText('a\u200eb\u200fc\u061cd')).toBe('a\u200eb\u200fc\u061cd');
    expect(normalizeInputText('\u2764\ufe0f')).toBe('\u2764\ufe0f');
    const scotland = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}';
    expect(normalizeInputText(`go ${scotland}!`)).toBe(`go ${scotland}!`);
  });

  it('removes tag characters outside a flag ("ASCII smuggling")', () => {
    const hidden = [...'ignore'].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    expect(normalizeInputText(`hello${hidden} world`)).toBe('hello world');
    expect(normalizeInputText(`to${hidden}ken`)).toBe('token');
  });

  it('composes to NFC but does not fold compatibility forms (statuses are stored as written)', () => {
    expect(normalizeInputText('e\u0301')).toBe('\u00e9');
    expect(normalizeInputText('x\u00b2 \u2122 \ufb01')).toBe('x\u00b2 \u2122 \ufb01');
  });

  it('replaces lone surrogates, trims, and is idempotent', () => {
    expect(normalizeInputText('  a\udba5b \u00a0')).toBe('a\uFFFDb');
    const samples = ['\u0085 \u200b token \u202e', 'x\r\n\r\ny', '\u{1F3F4}\u200b\u{E0067}\u{E007F}', ' e\u0301\u0000 ', '\udc00\ud800'];
    for (const s of samples) {
      const once = normalizeInputText(s);
      expect(normalizeInputText(once)).toBe(once);
    }
  });

  it('is linear: a long run of tag characters or controls is cheap', () => {
    const tags = String.fromCodePoint(0xe0041).repeat(50_000);
    expect(normalizeInputText(`a${tags}b`)).toBe('ab');
    expect(normalizeInputText('\u0000'.repeat(100_000) + 'x')).toBe('x');
  });

  it('makes the parser see what an adapter sees: a control character before or inside `token` is the token command', () => {
    for (const t of ['\u0085token', 'to\u0001ken', '\u001btoken', 'tok\u0000en', '\u200btoken', 'token\u202e']) {
      expect(parseCommand(t).name).toBe('token');
      expect(normalizeInputText(t)).toBe('token');
    }
  });
});
