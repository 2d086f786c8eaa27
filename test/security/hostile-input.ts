/**
 * Random and hostile inputs for fuzz-style tests, from a seeded generator so a failure can be
 * replayed (the seed is printed by the tests that use it).
 */

/** mulberry32: small, fast, good enough to pick cases. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** encodeURIComponent that does not throw on lone surrogates (they become U+FFFD, as fetch would send them). */
export function encode(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

export class Fuzz {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = rng(seed);
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One hostile or random string. */
  string(): string {
    const n = this.int(10);
    if (n < 5) return this.pick(HOSTILE_STRINGS);
    if (n < 7) return this.randomChars(this.int(80));
    if (n < 8) return this.pick(HOSTILE_STRINGS) + this.randomChars(this.int(20)) + this.pick(HOSTILE_STRINGS);
    if (n < 9) return this.pick(LONG_STRINGS);
    return `${this.pick(['@', '#', '', 'http://127.0.0.1/', '+#', '-'])}${this.pick(HOSTILE_STRINGS)}`;
  }

  /** Characters from every awkward part of Unicode, lone surrogates included. */
  randomChars(len: number): string {
    let s = '';
    for (let i = 0; i < len; i++) {
      const r = this.int(8);
      if (r === 0) s += String.fromCharCode(this.int(0x20));
      else if (r === 1) s += String.fromCharCode(0xd800 + this.int(0x800));
      else if (r === 2) s += this.pick(['\u202e', '\u200b', '\u200d', '\ufeff', '\u0301', '\u2028', '\u2029', '\u00ad', '\uffff', '\ufffd', '\u0085']);
      else if (r === 3) s += String.fromCodePoint(0x10000 + this.int(0xfffff));
      else if (r === 4) s += String.fromCharCode(0x80 + this.int(0xff80));
      else s += String.fromCharCode(0x20 + this.int(0x5f));
    }
    return s;
  }

  /** Any JSON value, hostile ones weighted up, nested up to `depth`. */
  value(depth = 2): unknown {
    const n = this.int(14);
    if (n < 5) return this.string();
    if (n === 5) return this.pick(NUMBERS);
    if (n === 6) return this.pick([true, false, null]);
    if (n === 7 && depth > 0) return Array.from({ length: this.int(4) }, () => this.value(depth - 1));
    if (n === 8 && depth > 0) return this.object(depth - 1);
    if (n === 9) return this.pick([[], {}, [[]], [null], { '': '' }]);
    if (n === 10) return this.pick(['', ' ', '\n', '\u0000']);
    return this.string();
  }

  object(depth = 2): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    const keys = this.int(4);
    for (let i = 0; i < keys; i++) {
      const key = this.chance(0.5) ? this.pick(POLLUTION_KEYS) : this.chance(0.5) ? this.pick(FIELD_NAMES) : this.randomChars(this.int(10));
      // defineProperty: assigning "__proto__" would set the prototype instead of creating a key.
      Object.defineProperty(o, key, { value: this.value(depth), enumerable: true, writable: true, configurable: true });
    }
    return o;
  }

  /** A request body: usually JSON of a plausible shape with hostile values, sometimes not JSON at all. */
  body(fields: readonly string[]): { raw: string; contentType: string | null } {
    const n = this.int(10);
    if (n === 0) return { raw: this.pick(BROKEN_JSON), contentType: 'application/json' };
    if (n === 1) return { raw: this.string(), contentType: this.pick(CONTENT_TYPES) };
    let value: unknown;
    if (n < 7) {
      const o: Record<string, unknown> = {};
      for (const f of fields) if (this.chance(0.8)) o[f] = this.value();
      if (this.chance(0.3)) Object.defineProperty(o, this.pick(POLLUTION_KEYS), { value: { polluted: true, isAdmin: true }, enumerable: true });
      value = o;
    } else {
      value = this.value(3);
    }
    return { raw: JSON.stringify(value) ?? 'null', contentType: this.chance(0.9) ? 'application/json' : this.pick(CONTENT_TYPES) };
  }

  /** A hostile path segment, percent-encoded so it stays one segment. */
  segment(): string {
    const s = this.chance(0.2) ? this.pick(['..', '.', '%2e%2e', '%00', '%', '%zz', '%ff%fe']) : encode(this.string().slice(0, 300));
    return s || 'x';
  }

  /** A hostile query string. */
  query(): string {
    const parts: string[] = [];
    for (let i = this.int(4); i > 0; i--) {
      const key = this.pick(['limit', 'before', 'since', 'subject', 'token', 'limit[]', 'limit[__proto__]', '__proto__[isAdmin]', 'constructor[prototype][x]', this.randomChars(3)]);
      const val = this.chance(0.4) ? this.pick(['1e309', '-1', '0', '1.5', 'NaN', '9'.repeat(400), '0x10', '101', '', ' ']) : this.string().slice(0, 200);
      parts.push(`${encode(key).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${encode(val)}`);
    }
    return parts.length ? `?${parts.join('&')}` : '';
  }
}

export const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__', 'isAdmin'];
const FIELD_NAMES = ['text', 'as', 'target', 'route', 'webhook', 'filters', 'url', 'description', 'filter', 'enabled', 'handle', 'name', 'email', 'owners', 'visibility', 'subject', 'expires_at'];

export const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'hello\u0000world',
  '\u001b[31mred\u001b[0m',
  '\r\n\r\nHTTP/1.1 200 OK\r\n',
  "'; drop table sources; --",
  "' or '1'='1",
  '" or ""="',
  '1; select pg_sleep(10)',
  '$1',
  '%s%s%s%n',
  '{{7*7}}',
  '${process.exit(1)}',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '[click](javascript:alert(1))',
  '*bold* _it_ ~strike~ `code` ```block```',
  '<!channel> <!here> <!everyone> @here @channel',
  '<@U123ABC> <#C123|general> <https://evil.example|ok>',
  '@@@@', '#', '@', '#!', '@-', '@' + 'a'.repeat(40), '#' + 'x'.repeat(300),
  '\u202egnp.exe',
  'admin\u200b',
  '\ufeffpost hi',
  'аdmin', // Cyrillic a
  'ＡＤＭＩＮ',
  'e\u0301\u0301\u0301\u0301\u0301',
  '\ud800',
  '\udfff\ud800',
  '😀'.repeat(10),
  '../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  'http://169.254.169.254/latest/meta-data/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'null', 'undefined', 'true', 'NaN', '-0', '1e309', '0x7f000001',
  '__proto__', 'constructor', 'prototype',
  'follow @' + 'b'.repeat(33),
  'as @build ' + 'x'.repeat(1001),
  'quiet 25:00-99:99',
  'digest hourly at 24:61',
  'catchup 999999999999999h',
  'd @nobody hi',
  'approve @alice',
  'token',
  'follow #deploy +#x -y -#z +' + '#a'.repeat(100),
  'channel publish @build',
  '\\', '\\\\"', '"', "'", '`', '\u2028\u2029',
];

export const LONG_STRINGS = ['a'.repeat(1000), 'a'.repeat(1001), 'é'.repeat(1001), '😀'.repeat(1000), '😀'.repeat(1001), 'x '.repeat(8000), '\u0301'.repeat(5000), '@'.repeat(20000)];

export const NUMBERS = [0, -0, 1, -1, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE];

export const BROKEN_JSON = [
  '{',
  '}',
  '{"text":}',
  '{"text":"unterminated',
  "{'text':'single quotes'}",
  '{"text":"x",}',
  'NaN',
  '{"text":1e309}',
  '{"text":"\\ud800"}',
  '{"text":"\\u0000"}',
  '\ufeff{"text":"bom"}',
  '{"__proto__":{"isAdmin":true},"text":"x"}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  '[' .repeat(5000) + ']'.repeat(5000),
  '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
  '"just a string"',
  '12345678901234567890123456789012345678901234567890',
  'null',
  '[]',
  '',
  '\u0000\u0000',
  '{"text":"x"}{"text":"y"}',
  '{"text":"x","text":"y"}',
];

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/merge-patch+json',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  '',
  '*/*',
];
