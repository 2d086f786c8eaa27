import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Twilio REST API on 127.0.0.1 that answers as Twilio's docs say for
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form body To, From, Body; HTTP basic auth):
 * 201 with the Message resource; 401 with error 20003 for bad credentials; 400 with 21610 for a number
 * that texted STOP; 429 with 20429 when asked to rate-limit; 400 with 21604 / 21602 for a missing To /
 * Body. Errors are Twilio's JSON `{code, message, more_info, status}`.
 */

export const TEST_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const TEST_TOKEN = 'twilio-test-auth-token-0123456789';
export const TEST_FROM = '+15550001111';

export interface SentSms {
  sid: string;
  to: string;
  from: string;
  body: string;
}

export interface FakeTwilio {
  /** TWILIO_API_URL for the app. */
  url: string;
  sent: SentSms[];
  /** Requests refused (any status but 201). */
  refused: { status: number; code: number }[];
  /** Numbers that texted STOP to the sender: sends to them answer 21610. */
  stopped: Set<string>;
  /** The next `n` sends answer 429 / 20429 (with Retry-After when given). */
  rateLimitNext(n: number, retryAfterSeconds?: number): void;
  /** The env the app needs to send through this fake. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

const error = (res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeTwilio(opts: { accountSid?: string; authToken?: string } = {}): Promise<FakeTwilio> {
  const sid = opts.accountSid ?? TEST_SID;
  const token = opts.authToken ?? TEST_TOKEN;
  const sent: SentSms[] = [];
  const refused: FakeTwilio['refused'] = [];
  const stopped = new Set<string>();
  let limited = 0;
  let retryAfter: number | undefined;
  const refuse = (res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>) => {
    refused.push({ status, code });
    error(res, status, code, message, headers);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) return refuse(res, 404, 20404, 'The requested resource was not found');
      const auth = req.headers.authorization ?? '';
      const [user, pass] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8').split(':');
      if (!auth.startsWith('Basic ') || user !== sid || pass !== token || decodeURIComponent(m[1]!) !== sid) {
        return refuse(res, 401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
      }
      if (limited > 0) {
        limited--;
        return refuse(res, 429, 20429, 'Too Many Requests', retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {});
      }
      const form = new URLSearchParams(body);
      const to = form.get('To');
      const from = form.get('From');
      const text = form.get('Body');
      if (!to) return refuse(res, 400, 21604, "A 'To' phone number is required.");
      if (!text) return refuse(res, 400, 21602, 'Message body is required.');
      if (stopped.has(to)) return refuse(res, 400, 21610, 'Attempt to send to unsubscribed recipient');
      const msg = { sid: `SM${randomBytes(16).toString('hex')}`, to, from: from ?? '', body: text };
      sent.push(msg);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          account_sid: sid,
          api_version: '2010-04-01',
          body: text,
          date_created: new Date().toUTCString(),
          direction: 'outbound-api',
          from: msg.from,
          num_segments: String(Math.max(1, Math.ceil(text.length / 153))),
          sid: msg.sid,
          status: 'queued',
          to,
          uri: `/2010-04-01/Accounts/${sid}/Messages/${msg.sid}.json`,
        }),
      );
    })();
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    sent,
    refused,
    stopped,
    rateLimitNext(n, seconds) {
      limited = n;
      retryAfter = seconds;
    },
    env: () => ({ SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: token, TWILIO_FROM: TEST_FROM, TWILIO_API_URL: url }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Signs an inbound webhook the way Twilio does (written apart from the app's code on purpose): the full
 * URL, then each POST parameter name immediately followed by its value, sorted by name; HMAC-SHA1 with
 * the auth token; base64.
 */
export function signLikeTwilio(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf-8')).digest('base64');
}

/** The fields Twilio posts for an inbound SMS (a subset: the ones anyone reads, plus some we ignore). */
export function inboundFields(from: string, body: string, to = TEST_FROM): Record<string, string> {
  return {
    ToCountry: 'US',
    SmsMessageSid: `SM${randomBytes(16).toString('hex')}`,
    NumMedia: '0',
    From: from,
    To: to,
    Body: body,
    MessageSid: `SM${randomBytes(16).toString('hex')}`,
    AccountSid: TEST_SID,
    NumSegments: '1',
    ApiVersion: '2010-04-01',
  };
}
