import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/core/html.js';

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and quoted attributes, and nothing else', () => {
    expect(escapeHtml(`'"<>&`)).toBe('&#39;&quot;&lt;&gt;&amp;');
    expect(escapeHtml('plain text, ünïcode 🚀\nnew line')).toBe('plain text, ünïcode 🚀\nnew line');
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
  });
});
