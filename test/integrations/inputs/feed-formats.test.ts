import { describe, expect, it } from 'vitest';
import { parseFeedDocument } from '../../../src/integrations/inputs/feed.js';

// The four formats normalise into one item shape; identity is id/guid, else link, else content.
describe('parseFeedDocument', () => {
  it('reads Atom 1.0', () => {
    const atom = `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><link href="https://x.example/" rel="alternate"/><id>x</id>
      <entry><title type="html">A &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; one</title><id>tag:x,2026:1</id><link href="https://x.example/a"/><updated>2026-12-01T10:00:00Z</updated></entry></feed>`;
    const f = parseFeedDocument(Buffer.from(atom), 'application/atom+xml');
    expect(f.home).toBe('https://x.example/');
    expect(f.items).toMatchObject([{ id: 'tag:x,2026:1', link: 'https://x.example/a', date: new Date('2026-12-01T10:00:00Z') }]);
    expect(f.items[0]!.title).toMatch(/^A .*bold.* one$/);
  });

  it('reads RSS 1.0 (RDF)', () => {
    const rdf = `<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://x.example/"><title>T</title><link>https://x.example/</link></channel>
      <item rdf:about="https://x.example/a"><title>A</title><link>https://x.example/a</link></item></rdf:RDF>`;
    expect(parseFeedDocument(Buffer.from(rdf))).toMatchObject({ home: 'https://x.example/', items: [{ id: 'https://x.example/a', title: 'A' }] });
  });

  it('reads JSON Feed 1.1', () => {
    const json = JSON.stringify({ version: 'https://jsonfeed.org/version/1.1', title: 'T', home_page_url: 'https://x.example/', items: [{ id: 1, url: 'https://x.example/a', content_text: 'Only content' }] });
    expect(parseFeedDocument(Buffer.from(json), 'application/feed+json')).toMatchObject({ home: 'https://x.example/', items: [{ id: '1', link: 'https://x.example/a', title: 'Only content' }] });
  });

  it('keys by guid, then link, then content, never by date', () => {
    const rss = (date: string, title = 'Same') =>
      `<rss version="2.0"><channel><title>T</title><link>https://x.example/</link><item><title>${title}</title><pubDate>${date}</pubDate><description>d</description></item></channel></rss>`;
    const a = parseFeedDocument(Buffer.from(rss('Mon, 30 Nov 2026 10:00:00 GMT'))).items[0]!;
    const b = parseFeedDocument(Buffer.from(rss('Tue, 01 Dec 2026 10:00:00 GMT'))).items[0]!;
    const c = parseFeedDocument(Buffer.from(rss('Tue, 01 Dec 2026 10:00:00 GMT', 'Other'))).items[0]!;
    expect(a.key).toBe(b.key);
    expect(c.key).not.toBe(a.key);
  });

  it('decodes the charset the document declares (Shift_JIS via the prolog)', () => {
    const sjis = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="Shift_JIS"?><rss version="2.0"><channel><title>T</title><link>https://x.example/</link><item><guid>1</guid><title>'), Buffer.from([0x93, 0xfa, 0x96, 0x7b]), Buffer.from('</title></item></channel></rss>')]);
    expect(parseFeedDocument(sjis, 'text/xml').items[0]!.title).toBe('日本');
    expect(() => parseFeedDocument(Buffer.from('<?xml version="1.0" encoding="x-martian"?><rss/>'))).toThrow(/charset "x-martian"/);
  });
});
