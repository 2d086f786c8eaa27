import { describe, expect, it } from 'vitest';
import { parseEntities, wordsOf } from '../../src/core/entities.js';

describe('parseEntities', () => {
  it('finds mentions and tags, lowercased, once each, without their @ and #', () => {
    const e = parseEntities('@Alice and @bob: #Deploy done, #deploy again (cc @alice)');
    expect(e.mentions).toEqual(['alice', 'bob']);
    expect(e.tags).toEqual(['deploy']);
  });

  it('does not read an email address, a URL fragment or an HTML entity as a mention or tag', () => {
    const e = parseEntities('mail ops@corp.example, see https://wiki.example/page#setup and &#39; ok');
    expect(e.mentions).toEqual([]);
    expect(e.tags).toEqual([]);
    expect(e.urls).toEqual(['https://wiki.example/page#setup']);
  });

  it('keeps trailing punctuation out of URLs', () => {
    expect(parseEntities('Build log (https://ci.example/b/42). Next: http://x.example/a?b=1, done').urls).toEqual([
      'https://ci.example/b/42',
      'http://x.example/a?b=1',
    ]);
  });

  it.each([
    ['Invoice paid: $42.50', [{ value: '42.50', currency: 'USD' }]],
    ['Refund €5 issued', [{ value: '5', currency: 'EUR' }]],
    ['Budget EUR 12 left', [{ value: '12', currency: 'EUR' }]],
    ['Lunch 12.00 USD', [{ value: '12.00', currency: 'USD' }]],
    ['Payroll 1,250,000.5 GBP', [{ value: '1250000.50', currency: 'GBP' }]],
    ['Fee CHF1,000', [{ value: '1000', currency: 'CHF' }]],
    ['twice: $3 and 3.00 USD and $3', [{ value: '3', currency: 'USD' }, { value: '3.00', currency: 'USD' }]],
  ])('reads the amount in %j', (text, amounts) => {
    expect(parseEntities(text).amounts).toEqual(amounts);
  });

  it.each(['version 1.2.3 released', '42 ABC units', 'room 101', 'usd 12 in lower case', 'v2.0USD2'])('finds no amount in %j', (text) => {
    expect(parseEntities(text).amounts).toEqual([]);
  });
});

describe('wordsOf', () => {
  it('gives the lowercased words for track, leaving URLs and edge dashes out', () => {
    expect(wordsOf('Outage in EU-west -- see https://status.example/x; outage over_now!')).toEqual(['outage', 'in', 'eu-west', 'see', 'over_now']);
  });
});
