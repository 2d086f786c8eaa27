import { describe, expect, it } from 'vitest';
import { bareJid, jidDomain, jidLocal } from '../../src/core/jid.js';

describe('bare JIDs', () => {
  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['Alice@Example.COM/Laptop', 'alice@example.com'],
    ['build@tp.example.com/res/with/slashes', 'build@tp.example.com'],
    ['ünïcode@例え.jp', 'ünïcode@例え.jp'],
    ['app@localhost', 'app@localhost'],
  ])('%s -> %s', (raw, bare) => expect(bareJid(raw)).toBe(bare));

  it.each(['example.com', '@example.com', 'a b@example.com', 'a@', 'a@-bad-.com', 'a@b..c', 'a"b@c.d', `${'x'.repeat(1024)}@c.d`, 'a@b@c'])('%s is refused', (raw) =>
    expect(bareJid(raw)).toBeNull(),
  );

  it('domain and localpart of an address', () => {
    expect(jidDomain('Build@TP.example.com/x')).toBe('tp.example.com');
    expect(jidDomain('tp.example.com')).toBe('tp.example.com');
    expect(jidLocal('Build@tp.example.com/x')).toBe('build');
    expect(jidLocal('tp.example.com')).toBe('');
  });
});
