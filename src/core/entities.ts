import type { Amount, Entities } from './types.js';

const MENTION_RE = /(?<![\w@.])@([a-z0-9][a-z0-9_-]{0,31})\b/gi;
const TAG_RE = /(?<![\w&#])#([\p{L}\p{N}_][\p{L}\p{N}_-]{0,63})/giu;
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/gi;
// Order matters: the symbol forms first, then "EUR 12" and "12.00 USD".
const SYMBOLS: Record<string, string> = { $: 'USD', '€': 'EUR', '£': 'GBP', '¥': 'JPY' };
const SYMBOL_AMOUNT_RE = /(?<![\w.])([$€£¥])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?![\d])/g;
const CODE_FIRST_RE = /\b([A-Z]{3})\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?![\d.])/g;
const CODE_AFTER_RE = /(?<![\w.$€£¥])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s?([A-Z]{3})\b/g;
/** ISO 4217 codes we recognise; an unknown three-letter word is not a currency. */
const CURRENCIES = new Set(
  'USD EUR GBP JPY CHF CAD AUD NZD SEK NOK DKK PLN CZK HUF CNY HKD SGD INR BRL MXN ZAR KRW TRY ILS AED SAR'.split(' '),
);

function amount(intPart: string, frac: string | undefined, currency: string): Amount {
  const whole = intPart.replace(/,/g, '').replace(/^0+(?=\d)/, '');
  return { value: frac !== undefined ? `${whole}.${frac.padEnd(2, '0')}` : whole, currency };
}

function uniq<T>(xs: T[], key: (x: T) => string = String): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}

/** Mentions (@handles), tags (#words), urls and money amounts found in a status text. */
export function parseEntities(text: string): Entities {
  const urls = uniq([...text.matchAll(URL_RE)].map((m) => m[0]));
  // Entities inside URLs (fragments, userinfo) are not mentions or tags.
  const bare = text.replace(URL_RE, ' ');
  const mentions = uniq([...bare.matchAll(MENTION_RE)].map((m) => m[1]!.toLowerCase()));
  const tags = uniq([...bare.matchAll(TAG_RE)].map((m) => m[1]!.toLowerCase()));
  const amounts: Amount[] = [];
  for (const m of bare.matchAll(SYMBOL_AMOUNT_RE)) amounts.push(amount(m[2]!, m[3], SYMBOLS[m[1]!]!));
  for (const m of bare.matchAll(CODE_FIRST_RE)) if (CURRENCIES.has(m[1]!)) amounts.push(amount(m[2]!, m[3], m[1]!));
  for (const m of bare.matchAll(CODE_AFTER_RE)) if (CURRENCIES.has(m[3]!)) amounts.push(amount(m[1]!, m[2], m[3]!));
  return { mentions, tags, urls, amounts: uniq(amounts, (a) => `${a.value} ${a.currency}`) };
}

/** Lowercased words of a text, for `track <word>`. */
export function wordsOf(text: string): string[] {
  return uniq(
    text
      .toLowerCase()
      .replace(URL_RE, ' ')
      .split(/[^\p{L}\p{N}_-]+/u)
      .map((w) => w.replace(/^[-_]+|[-_]+$/g, ''))
      .filter((w) => w.length > 0 && w.length <= 64),
  );
}
