import { request } from 'undici';
import { z } from 'zod';
import type { InboundRequest, InboundSms, SmsProvider, SmsSendResult } from './provider.js';
import { validTwilioSignature } from './signature.js';

/**
 * Twilio over its documented REST API (Programmable Messaging, API version 2010-04-01) with undici:
 * `POST {TWILIO_API_URL}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth (Account SID,
 * Auth Token), form body `To`, `From`, `Body`; 201 with the message resource. Errors are JSON
 * `{code, message, more_info, status}`. We do not use the `twilio` package: it is large (the whole API
 * surface, axios and more) for the one call we make, and has no base-URL option for pointing tests at a
 * fake; this file is the one place to change if Twilio changes.
 */

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  from: string;
  /** e.g. https://api.twilio.com (no trailing slash). */
  apiUrl: string;
  /** Where Twilio posts inbound texts, as configured on the number: PUBLIC_URL + /sms/twilio. */
  timeoutMs?: number;
}

/** Twilio error codes we act on (https://www.twilio.com/docs/api/errors). */
export const TWILIO_ERRORS = {
  /** "Attempt to send to unsubscribed recipient": the number texted STOP to our sender. */
  unsubscribed: 21610,
  /** "Too Many Requests". */
  rateLimited: 20429,
} as const;

const twilioError = z.looseObject({ code: z.number().optional(), message: z.string().optional(), more_info: z.string().optional(), status: z.number().optional() });
const twilioMessage = z.looseObject({ sid: z.string() });

/** Twilio's Body limit: 1,600 characters (https://www.twilio.com/docs/messaging/api/message-resource). */
export const MAX_BODY = 1600;

const retryAfterMs = (header: string | string[] | undefined): number | undefined => {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, Math.min(s, 3600)) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - Date.now(), 3_600_000));
};

/** XML 1.0 text: escaped, and without the characters XML cannot carry at all. */
function xmlText(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex -- these are exactly the code points XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
  );
}

export function createTwilioProvider(opts: TwilioOptions): SmsProvider {
  const auth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`;
  const endpoint = `${opts.apiUrl}/2010-04-01/Accounts/${encodeURIComponent(opts.accountSid)}/Messages.json`;
  const field = (req: InboundRequest, name: string) => req.fields.find(([k]) => k === name)?.[1];
  return {
    name: 'twilio',
    from: opts.from,
    async send(to: string, body: string): Promise<SmsSendResult> {
      const form = new URLSearchParams({ To: to, From: opts.from, Body: body.slice(0, MAX_BODY) });
      let res;
      try {
        res = await request(endpoint, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form.toString(),
          headersTimeout: opts.timeoutMs ?? 10_000,
          bodyTimeout: opts.timeoutMs ?? 10_000,
        });
      } catch (err) {
        return { kind: 'retry', error: `Twilio unreachable: ${err instanceof Error ? err.message : String(err)}` };
      }
      const text = (await res.body.text()).slice(0, 64 * 1024);
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      if (res.statusCode === 201 || res.statusCode === 200) {
        const m = twilioMessage.safeParse(json);
        return { kind: 'sent', id: m.success ? m.data.sid : '' };
      }
      const e = twilioError.safeParse(json);
      const code = e.success ? e.data.code : undefined;
      const error = `Twilio ${res.statusCode}${code ? ` (error ${code})` : ''}: ${(e.success && e.data.message) || text.slice(0, 200) || 'no message'}`;
      if (code === TWILIO_ERRORS.unsubscribed) return { kind: 'stopped', error };
      if (res.statusCode === 429 || code === TWILIO_ERRORS.rateLimited) {
        const after = retryAfterMs(res.headers['retry-after']);
        return after !== undefined ? { kind: 'retry', error, retryAfterMs: after } : { kind: 'retry', error, retryAfterMs: 60_000 };
      }
      if (res.statusCode >= 500) return { kind: 'retry', error };
      // 400 (a number Twilio cannot reach, 21211/21614), 401 (credentials), 404: retrying would not help.
      return { kind: 'fail', error };
    },
    verify(req: InboundRequest): boolean {
      const h = req.headers['x-twilio-signature'];
      return validTwilioSignature(opts.authToken, req.url, req.fields, Array.isArray(h) ? h[0] : h);
    },
    parse(req: InboundRequest): InboundSms | null {
      const from = field(req, 'From');
      const to = field(req, 'To');
      if (!from || !to) return null;
      return { from, to, text: field(req, 'Body') ?? '', id: field(req, 'MessageSid') ?? field(req, 'SmsSid') ?? '' };
    },
    answer(reply: string | null) {
      // TwiML (https://www.twilio.com/docs/messaging/twiml): <Message> sends the text back to the sender.
      const body = reply === null ? '<Response/>' : `<Response><Message>${xmlText(reply.slice(0, MAX_BODY))}</Message></Response>`;
      return { contentType: 'text/xml; charset=utf-8', body: `<?xml version="1.0" encoding="UTF-8"?>${body}` };
    },
  };
}
