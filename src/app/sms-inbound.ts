import { parseSmsCommand, SMS_USAGE } from '../core/commands/sms.js';
import { normalizeInputText } from '../core/input-text.js';
import { executeCommand } from './commands/execute.js';
import type { AppContext } from './context.js';
import { getSourceById } from './people.js';
import { checkPhoneCode, codePending, phoneByNumber, setSmsStopped } from './phones.js';

/**
 * One inbound text (SPEC section 9), already verified as coming from the provider. Answers with the
 * text to send back, or null for none.
 *
 * The carriers' and Twilio's opt-out words are honoured first, whatever else the number is: STOP and
 * its family turn every SMS route of the number off (recorded), START turns them on, HELP answers the
 * usage. `off`/`on` are the chat commands (every delivery), not SMS-only.
 */

// Twilio's default opt-out / opt-in / help keywords (https://help.twilio.com/articles/223134027).
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
const START_WORDS = new Set(['START', 'UNSTOP', 'YES']);
const HELP_WORDS = new Set(['HELP', 'INFO']);

export const SMS_TEXTS = {
  stopped: 'You will get no more texts from Twitterprise. Text START to get them again.',
  started: 'Texts from Twitterprise are on again. Text HELP for the commands, STOP to end them.',
  unknown: 'This number is not linked to Twitterprise. Add it from Slack or Teams with: phone +15551234567',
  verified: 'Your number is verified. "follow build via sms" (or via dm+sms) texts you what @build posts. Text HELP for the commands.',
  notVerified: 'This number is not verified yet. Send "phone +15551234567" (your number) in Slack or Teams for a new code.',
  codeWanted: 'Text the 6-digit code we sent to verify this number.',
} as const;

export async function handleInboundSms(ctx: AppContext, sms: { from: string; text: string }): Promise<string | null> {
  const text = normalizeInputText(sms.text).trim();
  const word = text.toUpperCase();
  if (STOP_WORDS.has(word)) {
    await setSmsStopped(ctx, sms.from, true, { via: 'sms', reason: word });
    return SMS_TEXTS.stopped;
  }
  if (START_WORDS.has(word)) {
    const p = await phoneByNumber(ctx.db, sms.from);
    if (!p?.verifiedAt) return p ? SMS_TEXTS.notVerified : SMS_TEXTS.unknown;
    await setSmsStopped(ctx, sms.from, false, { via: 'sms', reason: word });
    return SMS_TEXTS.started;
  }
  if (HELP_WORDS.has(word)) return SMS_USAGE;

  const phone = await phoneByNumber(ctx.db, sms.from);
  if (!phone) return SMS_TEXTS.unknown;
  if (!phone.verifiedAt) {
    if (/^\d{6}$/.test(text)) {
      const r = await checkPhoneCode(ctx, sms.from, text);
      switch (r.result) {
        case 'verified':
          return SMS_TEXTS.verified;
        case 'wrong':
          return `That code is not right; ${r.triesLeft} ${r.triesLeft === 1 ? 'try' : 'tries'} left.`;
        case 'expired':
          return 'That code has expired (codes last 10 minutes). Send "phone <your number>" in Slack or Teams for a new one.';
        case 'too many tries':
          return 'Too many wrong codes. Send "phone <your number>" in Slack or Teams for a new one.';
        case 'none':
          return SMS_TEXTS.notVerified;
      }
    }
    return codePending(phone, ctx.clock.now()) ? SMS_TEXTS.codeWanted : SMS_TEXTS.notVerified;
  }
  if (!text) return SMS_USAGE;
  const actor = await getSourceById(ctx.db, phone.personId);
  if (!actor) return SMS_TEXTS.unknown;
  const reply = await executeCommand(ctx, { actor, platform: 'sms', text, parse: parseSmsCommand });
  return reply.text;
}
