import { describe, expect, it } from 'vitest';
import { twilioSignature, validTwilioSignature } from '../../../src/integrations/sms/signature.js';
import { cutText, gsm7Length, isGsm7, statusText, summaryText } from '../../../src/integrations/sms/sms-text.js';
import { inboundFields, signLikeTwilio } from '../../fakes/twilio.js';

describe('X-Twilio-Signature', () => {
  // The worked example of Twilio's security documentation (https://www.twilio.com/docs/usage/security):
  // auth token 12345, this URL and these parameters give this signature.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };

  it("matches the example in Twilio's documentation", () => {
    expect(twilioSignature('12345', url, Object.entries(params))).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(validTwilioSignature('12345', url, Object.entries(params), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=')).toBe(true);
  });

  it('does not depend on the order the fields arrive in, and agrees with the test signer', () => {
    const reversed = Object.entries(params).reverse();
    expect(twilioSignature('12345', url, reversed)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    const f = inboundFields('+15551230001', 'follow build 😀 & <b>');
    expect(twilioSignature('tok', 'https://tp.example.test/sms/twilio', Object.entries(f))).toBe(signLikeTwilio('tok', 'https://tp.example.test/sms/twilio', f));
  });

  it('refuses another token, URL, value, a missing or oversized header', () => {
    const good = twilioSignature('12345', url, Object.entries(params));
    expect(validTwilioSignature('54321', url, Object.entries(params), good)).toBe(false);
    expect(validTwilioSignature('12345', 'http://mycompany.com/myapp.php?foo=1&bar=2', Object.entries(params), good)).toBe(false);
    expect(validTwilioSignature('12345', url, Object.entries({ ...params, Digits: '1235' }), good)).toBe(false);
    expect(validTwilioSignature('12345', url, Object.entries(params), undefined)).toBe(false);
    expect(validTwilioSignature('12345', url, Object.entries(params), good.slice(0, -1))).toBe(false);
    expect(validTwilioSignature('12345', url, Object.entries(params), 'x'.repeat(5000))).toBe(false);
  });
});

describe('status texts', () => {
  it('tells GSM-7 from UCS-2 and counts extension characters twice', () => {
    expect(isGsm7('Build 42 is green: @£$¥ {x}')).toBe(true);
    expect(isGsm7('Déploiement OK ✅')).toBe(false);
    expect(gsm7Length('a{b}€')).toBe(8);
  });

  it('cuts a GSM-7 text at 160 and a UCS-2 text at 70 characters, never inside a surrogate pair', () => {
    const long = 'x'.repeat(300);
    expect(cutText(long, true)).toHaveLength(160);
    expect(cutText(long, true).endsWith('...')).toBe(true);
    expect(cutText('short', true)).toBe('short');
    const emoji = '😀'.repeat(50);
    const cut = cutText(emoji, false);
    expect(cut.length).toBeLessThanOrEqual(70);
    expect(cut.endsWith('…')).toBe(true);
    expect(/[\uD800-\uDBFF]$/.test(cut.slice(0, -1))).toBe(false);
    expect(gsm7Length(cutText('{'.repeat(100), true))).toBeLessThanOrEqual(160);
  });

  it('is the source, the cut text, then the URL, as one message', () => {
    const t = statusText('build', `Deploy ${'y'.repeat(400)}`, 'https://tp.example.test/statuses/1');
    const [head, url] = t.split('\n');
    expect(head!.startsWith('@build: Deploy yyy')).toBe(true);
    expect(head!.length).toBe('@build: '.length + 160);
    expect(url).toBe('https://tp.example.test/statuses/1');
    // A character outside GSM-7 makes the whole text UCS-2: 70 characters of status.
    const u = statusText('build', `Déploiement ✅ ${'z'.repeat(200)}`, 'https://tp.example.test/statuses/2');
    expect(u.split('\n')[0]!.length).toBe('@build: '.length + 70);
  });

  it('sums what waited in one summary', () => {
    expect(summaryText({ build: 3, 'it-status': 1 }, 20)).toBe('4 statuses not texted (limit 20 texts an hour): @build 3, @it-status 1. Reply "get build" for the latest.');
  });
});
