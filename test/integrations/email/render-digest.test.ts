import { describe, expect, it } from 'vitest';
import type { StatusView } from '../../../src/core/messages.js';
import { digestSubject, namesLine, renderDigest, type DigestContent } from '../../../src/integrations/email/render-digest.js';
import { signUnsubscribeToken, verifyUnsubscribeToken } from '../../../src/integrations/email/unsubscribe-token.js';

const view = (id: string, handle: string, text: string, created: string): StatusView => ({
  id,
  url: `https://tp.example.test/statuses/${id}`,
  text,
  created_at: created,
  platform: 'api',
  source: { handle, kind: 'service', name: `${handle} <server>` },
  entities: { mentions: [], tags: [], urls: [], amounts: [] },
});

const content = (over: Partial<DigestContent> = {}): DigestContent => ({
  period: 'daily',
  person: { handle: 'alice', name: 'Alice', timezone: 'Europe/Berlin' },
  groups: [{ source: view('1', 'build', '', '2026-11-23T07:00:00Z').source, statuses: [view('s1', 'build', '<script>alert("x")</script> & co', '2026-11-23T07:00:00Z')] }],
  total: 1,
  sourceHandles: ['build'],
  followLabels: ['@build'],
  unsubscribeUrl: 'https://tp.example.test/unsubscribe/abc',
  ...over,
});

describe('digest subject', () => {
  it('says how many statuses from whom', () => {
    expect(digestSubject({ period: 'daily', total: 7, sourceHandles: ['build', 'jane', 'ops'] })).toBe('Twitterprise daily digest: 7 statuses from @build, @jane and 1 more');
    expect(digestSubject({ period: 'hourly', total: 1, sourceHandles: ['build'] })).toBe('Twitterprise hourly digest: 1 status from @build');
    expect(digestSubject({ period: 'weekly', total: 2, sourceHandles: ['build', 'jane'] })).toBe('Twitterprise weekly digest: 2 statuses from @build and @jane');
    expect(namesLine(['a', 'b', 'c', 'd', 'e'])).toBe('@a, @b and 3 more');
  });
});

describe('digest rendering', () => {
  it('escapes status text and names in HTML, keeps them as they are in text', () => {
    const r = renderDigest(content());
    expect(r.html).not.toContain('<script>');
    expect(r.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co');
    expect(r.html).toContain('build &lt;server&gt;');
    expect(r.text).toContain('<script>alert("x")</script> & co');
  });

  it('never turns a non-http URL into a link', () => {
    const r = renderDigest(content({ unsubscribeUrl: 'javascript:alert(1)', total: 3 }));
    expect(r.html).not.toContain('href="javascript:');
    expect(r.text).toContain('…and 2 more statuses: send "catchup 1d"');
  });

  it('says why the mail came and how to stop it', () => {
    const r = renderDigest(content({ followLabels: ['@build', '#deploy', '"outage"'] }));
    expect(r.text).toContain('You get this because you set `digest daily` and follow @build, #deploy and "outage" via email.');
    expect(r.text).toContain('https://tp.example.test/unsubscribe/abc');
    expect(r.html).toContain('<code>digest daily</code>');
    expect(r.html).toContain('href="https://tp.example.test/unsubscribe/abc"');
  });

  it('shows times in the person\'s time zone', () => {
    // 07:00Z is 08:00 in Berlin in November.
    expect(renderDigest(content()).text).toMatch(/Mon 23 Nov,? 08:00/);
  });
});

describe('unsubscribe token', () => {
  const secret = 'test-secret-0123456789';
  const id = '019b1f2e-1111-7000-8000-000000000001';

  it('round-trips the person id', () => {
    expect(verifyUnsubscribeToken(secret, signUnsubscribeToken(secret, id))).toEqual({ personId: id, purpose: 'digest' });
  });

  it('refuses tampered, foreign and malformed tokens', () => {
    const token = signUnsubscribeToken(secret, id);
    const other = '019b1f2e-1111-7000-8000-000000000002';
    const [, purpose, sig] = token.split('.');
    expect(verifyUnsubscribeToken(secret, `${other}.${purpose}.${sig}`)).toBeNull();
    expect(verifyUnsubscribeToken('another-secret-987654', token)).toBeNull();
    // Every other last character, including ones that decode to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      if (c === token.at(-1)) continue;
      expect(verifyUnsubscribeToken(secret, token.slice(0, -1) + c)).toBeNull();
    }
    expect(verifyUnsubscribeToken(secret, `${id}.follow.${sig}`)).toBeNull();
    expect(verifyUnsubscribeToken(secret, '')).toBeNull();
    expect(verifyUnsubscribeToken(secret, 'a.b')).toBeNull();
    expect(verifyUnsubscribeToken(secret, `${token}.x`)).toBeNull();
  });
});
