import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '../../../src/http/app.js';
import { createMetrics } from '../../../src/http/metrics.js';
import { createSms, type SmsSetup } from '../../../src/integrations/sms/index.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { RecordingPipeline } from '../../http/harness.js';
import { inboundFields, signLikeTwilio, startFakeTwilio, TEST_TOKEN, type FakeTwilio } from '../../fakes/twilio.js';

/** What Twilio was told the webhook is: PUBLIC_URL + /sms/twilio (not the loopback address we listen on). */
export const PUBLIC_URL = 'https://tp.example.test';
export const WEBHOOK = `${PUBLIC_URL}/sms/twilio`;

export interface SmsHarness {
  t: TestContext;
  twilio: FakeTwilio;
  sms: SmsSetup;
  base: string;
  /** POSTs a form to /sms/twilio, signed as Twilio signs (or with `signature` as given). */
  inbound(fields: Record<string, string>, opts?: { signature?: string | null; raw?: string; contentType?: string }): Promise<{ status: number; text: string; type: string }>;
  /** An inbound text from `from`, signed; the TwiML answer's message text (or null for none). */
  text(from: string, body: string): Promise<string | null>;
  close(): Promise<void>;
}

export async function startSmsHarness(env: Record<string, string> = {}): Promise<SmsHarness> {
  const twilio = await startFakeTwilio();
  const t = await createTestContext({ ...twilio.env(), PUBLIC_URL, ...env });
  const sms = createSms(t.ctx);
  t.ctx.sms = sms.sender;
  const app = createHttpApp(t.ctx, { integrations: [sms.integration], readiness: () => Promise.resolve(), metrics: createMetrics(), pipeline: new RecordingPipeline() });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const inbound: SmsHarness['inbound'] = async (fields, o = {}) => {
    const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/x-www-form-urlencoded' };
    const signature = o.signature === undefined ? signLikeTwilio(TEST_TOKEN, WEBHOOK, fields) : o.signature;
    if (signature !== null) headers['x-twilio-signature'] = signature;
    const res = await fetch(`${base}/sms/twilio`, { method: 'POST', headers, body: o.raw ?? new URLSearchParams(fields).toString(), signal: AbortSignal.timeout(15_000) });
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
  };
  return {
    t,
    twilio,
    sms,
    base,
    inbound,
    async text(from, body) {
      const r = await inbound(inboundFields(from, body));
      if (r.status !== 200) throw new Error(`inbound answered ${r.status}: ${r.text}`);
      const m = /<Message>([\s\S]*)<\/Message>/.exec(r.text);
      return m ? m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') : null;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await twilio.close();
      await t.drop();
    },
  };
}
