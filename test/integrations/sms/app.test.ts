import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCommand } from '../../../src/app/commands/execute.js';
import { getSourceByHandle } from '../../../src/app/people.js';
import { inboundFields, signLikeTwilio, startFakeTwilio, TEST_TOKEN, type FakeTwilio } from '../../fakes/twilio.js';
import { ADMIN, eventually, person, startE2E, type E2E } from '../../e2e/harness.js';

/** The whole app as main.ts builds it with SMS configured: the dynamic import, the mounted webhook, the channel, codes. */
const PUBLIC_URL = 'https://tp.example.test';
const PHONE = '+15551234321';
let twilio: FakeTwilio;
let e: E2E;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  e = await startE2E({ ...twilio.env(), PUBLIC_URL });
});
afterAll(async () => {
  await e?.close();
  await twilio?.close();
});

async function text(from: string, body: string): Promise<string> {
  const fields = inboundFields(from, body);
  const res = await fetch(`${e.url}/sms/twilio`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(TEST_TOKEN, `${PUBLIC_URL}/sms/twilio`, fields) },
    body: new URLSearchParams(fields).toString(),
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe('SMS in the running app', () => {
  it('verifies a number by code, follows via the API with route ["dm", "sms"], and texts the next status', async () => {
    const ops = await person(e, 'ops');
    const svc = await e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'it-status', name: 'IT status' } });
    expect(svc.status).toBe(201);
    const actor = (await getSourceByHandle(e.app.ctx, 'ops'))!;
    const said = await executeCommand(e.app.ctx, { actor, platform: 'slack', text: `phone ${PHONE}` });
    expect(said.text).toMatch(/^We texted a 6-digit code/);
    const code = /code: (\d{6})/.exec(twilio.sent.at(-1)!.body)![1]!;
    expect(await text(PHONE, code)).toContain('Your number is verified');

    const f = await e.call('POST', '/api/v1/follows', { token: ops.token, body: { target: '@it-status', route: ['sms', 'dm'] } });
    expect(f.body).toMatchObject({ route: 'dm+sms', routes: ['dm', 'sms'] });
    const tok = await e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: '@it-status' } });
    const s = await e.call<{ id: string }>('POST', '/api/v1/statuses', { token: tok.body.token, body: { text: 'Email is slow for everyone' } });
    expect(s.status).toBe(201);
    const got = await eventually(() => twilio.sent.find((m) => m.body.startsWith('@it-status:')), 'the status text');
    expect(got).toMatchObject({ to: PHONE, body: `@it-status: Email is slow for everyone\n${PUBLIC_URL}/statuses/${s.body.id}` });
    expect(await text(PHONE, 'HELP')).toContain('Twitterprise by text');
  });
});
