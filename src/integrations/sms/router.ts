import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { handleInboundSms } from '../../app/sms-inbound.js';
import type { AppContext } from '../../app/context.js';
import type { SmsProvider } from './provider.js';

/** Inbound texts are a few hundred bytes; anything near this is not from the provider. */
const BODY_LIMIT = '64kb';
const SORRY = 'Something went wrong on our side. Please try again.';

/**
 * `POST /sms/<provider>` (Twilio: `/sms/twilio`), the webhook set on the number. The signature covers
 * the URL the provider was given, which is PUBLIC_URL + this path (+ query), not whatever host a proxy
 * forwarded; a request that does not verify gets 403 and nothing else. The answer is the provider's
 * reply format (TwiML for Twilio), so a command's answer goes back as a text.
 */
export function smsRouter(ctx: AppContext, provider: SmsProvider): Router {
  const r = Router();
  const log = ctx.log.child({ name: 'sms-inbound' });
  // The raw form, parsed by us: the signature needs every field in order, repeated names included.
  const body = express.text({ type: 'application/x-www-form-urlencoded', limit: BODY_LIMIT, defaultCharset: 'utf-8' });
  r.post(`/sms/${provider.name}`, body, async (req: Request, res: Response) => {
    if (typeof req.body !== 'string') {
      res.status(415).type('text/plain').send('Expected application/x-www-form-urlencoded.');
      return;
    }
    const fields = [...new URLSearchParams(req.body)];
    const inbound = { url: `${ctx.config.publicUrl}${req.originalUrl}`, headers: req.headers, fields };
    if (!provider.verify(inbound)) {
      log.warn({ ip: req.ip }, 'inbound SMS with a bad signature refused');
      res.status(403).type('text/plain').send('Forbidden');
      return;
    }
    const sms = provider.parse(inbound);
    if (!sms) {
      res.status(400).type('text/plain').send('From and To are required.');
      return;
    }
    let reply: string | null;
    try {
      reply = await handleInboundSms(ctx, { from: sms.from, text: sms.text });
    } catch (err) {
      // The text is not logged: it may be a private message.
      log.error({ err, message: sms.id }, 'inbound SMS failed');
      reply = SORRY;
    }
    const a = provider.answer(reply);
    res.status(200).type(a.contentType).send(a.body);
  });
  // Body parser refusals (too large, bad charset) answer here, plainly, before any app-wide handler.
  r.use(`/sms/${provider.name}`, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 0;
    if (status >= 400 && status < 500) {
      res.status(status).type('text/plain').send(status === 413 ? 'Too large.' : 'Bad request.');
      return;
    }
    next(err);
  });
  return r;
}
