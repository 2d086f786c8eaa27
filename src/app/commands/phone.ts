import { USAGE } from '../../core/commands/usage.js';
import { rule } from '../../core/errors.js';
import { codePending, phoneOf, removePhone, startPhoneVerification } from '../phones.js';
import type { Handler } from './handler.js';

/** The text that carries a verification code (SPEC section 9). */
export const codeText = (code: string) => `Twitterprise code: ${code}. Text it back to this number within 10 minutes to get your follows by SMS. Not you? Ignore this.`;

/** `phone +15551234567` (a code is texted), `phone off`, or `phone` alone: the number and its state. */
export const phone: Handler<'phone'> = async ({ ctx, actor, via }, cmd) => {
  if (cmd.off) {
    const r = await removePhone(ctx, actor.id, via);
    return { text: r ? `Your number ${r.number} is removed: nothing will be texted to you.` : 'You have no phone number with us.' };
  }
  if (cmd.number === null) {
    const p = await phoneOf(ctx.db, actor.id);
    if (!p) return { text: `You have no phone number with us. Add one: ${USAGE.phone.usage.split(' | ')[0]}` };
    const state = p.verifiedAt
      ? p.stoppedAt
        ? 'verified, but stopped by STOP: text START to it to get texts again'
        : 'verified: "follow @handle via sms" delivers there'
      : codePending(p, ctx.clock.now())
        ? 'waiting for the code we texted it'
        : 'not verified: "phone <number>" again texts a new code';
    return { text: `Your number: ${p.number} (${state}).` };
  }
  if (!ctx.sms) throw rule('Texting is not set up on this server, so a number cannot be verified.', USAGE.phone.usage);
  const current = await phoneOf(ctx.db, actor.id);
  if (current?.number === cmd.number && current.verifiedAt) return { text: `${cmd.number} is already your verified number.` };
  const { code } = await startPhoneVerification(ctx, actor.id, cmd.number, via);
  const sent = await ctx.sms.send(cmd.number, codeText(code));
  if (!sent.ok) {
    ctx.log.child({ name: 'phone' }).warn({ person: actor.id, reason: sent.reason }, 'verification code not sent');
    return { text: `We could not text ${cmd.number} (${sent.reason}). Check the number and try again.` };
  }
  return { text: `We texted a 6-digit code to ${cmd.number}: text it back from that phone within 10 minutes. Until then nothing is texted to it.` };
};
