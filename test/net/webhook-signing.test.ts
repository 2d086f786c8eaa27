import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, signWebhook } from '../../src/net/webhook-signing.js';

describe('signing', () => {
  it('makes whsec_ secrets and signatures any Standard Webhooks library verifies', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/); // 32 random bytes
    const body = JSON.stringify({ type: 'webhook.test', timestamp: '2026-11-23T10:00:00.000Z', data: {} });
    const headers = signWebhook(secret, 'msg-1', new Date(), body);
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it('signs byte for byte as the standardwebhooks reference implementation does', () => {
    for (const secret of [generateWebhookSecret(), generateWebhookSecret().slice('whsec_'.length)]) {
      const reference = new Webhook(secret);
      for (const body of ['{}', JSON.stringify({ text: 'Grüße, 日本, 😀 and "quotes"' }), 'x'.repeat(5000)]) {
        const at = new Date(1_795_000_000_000 + body.length * 1000);
        const ours = signWebhook(secret, `msg_${body.length}`, at, body);
        expect(ours['webhook-signature']).toBe(reference.sign(`msg_${body.length}`, at, body));
        expect(ours['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)));
      }
    }
  });
});
