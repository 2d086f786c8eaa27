import type { AppContext, TextSender } from '../../app/context.js';
import type { Channel } from '../../pipeline/channel.js';
import type { Integration } from '../types.js';
import { createSmsChannel } from './channel.js';
import type { SmsProvider } from './provider.js';
import { smsRouter } from './router.js';
import { createTwilioProvider } from './twilio.js';

export interface SmsSetup {
  integration: Integration;
  /** Route `sms`, for the channel registry. */
  channel: Channel;
  /** Texts sent at once (verification codes), for AppContext.sms. */
  sender: TextSender;
  provider: SmsProvider;
}

/** SMS (SPEC section 9), when SMS_PROVIDER is set: main.ts imports this module only then. */
export function createSms(ctx: AppContext, opts: { provider?: SmsProvider } = {}): SmsSetup {
  const config = ctx.config.sms;
  if (!config) throw new Error('SMS is not configured (SMS_PROVIDER)');
  const provider = opts.provider ?? createTwilioProvider(config.twilio);
  const sender: TextSender = {
    async send(to, text) {
      const r = await provider.send(to, text);
      if (r.kind === 'sent') return { ok: true };
      if (r.kind === 'stopped') return { ok: false, reason: 'the number has stopped our texts; text START to it first' };
      return { ok: false, reason: r.error };
    },
  };
  return {
    provider,
    sender,
    channel: createSmsChannel({ ctx, provider, perHour: config.perHour }),
    integration: {
      name: 'sms',
      mount(app) {
        app.use(smsRouter(ctx, provider));
      },
    },
  };
}
