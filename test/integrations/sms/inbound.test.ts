import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCommand } from '../../../src/app/commands/execute.js';
import { createPerson, getSourceById, type SourceRow } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { SMS_USAGE } from '../../../src/core/commands/sms.js';
import { consentLog, follows, smsNumbers, sources, statuses } from '../../../src/db/schema.js';
import { inboundFields, signLikeTwilio, TEST_FROM, TEST_TOKEN } from '../../fakes/twilio.js';
import { startSmsHarness, WEBHOOK, type SmsHarness } from './harness.js';

let h: SmsHarness;
let ann: SourceRow;
let ben: SourceRow;
const ANN = '+15551230001';
const BEN = '+15551230002';

beforeAll(async () => {
  h = await startSmsHarness();
  ann = await createPerson(h.t.ctx, { handle: 'ann', name: 'Ann', email: 'ann@corp.example' });
  ben = await createPerson(h.t.ctx, { handle: 'ben', name: 'Ben', email: 'ben@corp.example' });
  await createService(h.t.ctx, { handle: 'build', name: 'Build server', owners: ['ben'] });
});
afterAll(() => h?.close());

const chat = async (who: SourceRow, text: string) => (await executeCommand(h.t.ctx, { actor: who, platform: 'slack', text })).text;
const lastCode = (to: string) => {
  const m = [...h.twilio.sent].reverse().find((s) => s.to === to);
  return /code: (\d{6})/.exec(m?.body ?? '')?.[1] ?? null;
};
const phoneRow = async (personId: string) => (await h.t.database.db.select().from(smsNumbers).where(eq(smsNumbers.personId, personId)))[0];

describe('phone: a number is verified by a texted code', () => {
  it('texts a 6-digit code; the code texted back verifies; only the hash is kept', async () => {
    expect(await chat(ann, 'phone +1 (555) 123-0001')).toMatch(/^We texted a 6-digit code to \+15551230001/);
    const sent = h.twilio.sent.at(-1)!;
    expect(sent).toMatchObject({ to: ANN, from: TEST_FROM });
    const code = lastCode(ANN)!;
    expect(code).toMatch(/^\d{6}$/);
    const row = await phoneRow(ann.id);
    expect(row).toMatchObject({ number: ANN, verifiedAt: null, codeTries: 0 });
    expect(row!.codeHash).not.toContain(code);
    expect(await chat(ann, 'phone')).toMatch(/waiting for the code/);
    // While a code is pending, other texts are told what is expected; nothing else happens.
    expect(await h.text(ANN, 'follow build')).toBe('Text the 6-digit code we sent to verify this number.');
    expect(await h.text(ANN, ` ${code} `)).toMatch(/^Your number is verified/);
    expect(await phoneRow(ann.id)).toMatchObject({ codeHash: null });
    expect((await phoneRow(ann.id))!.verifiedAt).toBeInstanceOf(Date);
    const consent = await h.t.database.db.select().from(consentLog).where(and(eq(consentLog.subjectId, ann.id), eq(consentLog.action, 'phone')));
    expect(consent.map((c) => [c.object, c.via, (c.detail as { step: string }).step])).toEqual([
      [`sms:${ANN}`, 'slack', 'code sent'],
      [`sms:${ANN}`, 'sms', 'verified'],
    ]);
    expect(await chat(ann, 'phone +15551230001')).toBe('+15551230001 is already your verified number.');
  });

  it('counts wrong codes: 5 tries, then a new code is needed', async () => {
    await chat(ben, 'phone +15551230002');
    const code = lastCode(BEN)!;
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await h.text(BEN, wrong)).toBe('That code is not right; 4 tries left.');
    for (let i = 0; i < 3; i++) await h.text(BEN, wrong);
    expect(await h.text(BEN, wrong)).toMatch(/^Too many wrong codes/);
    // Even the right code no longer works.
    expect(await h.text(BEN, code)).toMatch(/not verified yet/);
    expect((await phoneRow(ben.id))!.verifiedAt).toBeNull();
  });

  it('a code lasts 10 minutes', async () => {
    await chat(ben, 'phone +15551230002');
    const code = lastCode(BEN)!;
    h.t.clock.advance(10 * 60_000 + 1000);
    expect(await h.text(BEN, code)).toMatch(/^That code has expired/);
    await chat(ben, 'phone +15551230002');
    expect(await h.text(BEN, lastCode(BEN)!)).toMatch(/^Your number is verified/);
  });

  it('refuses numbers that are not E.164, and a number verified by someone else', async () => {
    expect(await chat(ann, 'phone 555-1234')).toMatch(/is not a phone number in international form/);
    expect(await chat(ann, 'phone +0123')).toMatch(/is not a phone number/);
    const cat = await createPerson(h.t.ctx, { handle: 'cat', name: 'Cat', email: 'cat@corp.example' });
    expect(await chat(cat, `phone ${ANN}`)).toMatch(/already verified by someone else/);
    // Following via sms before a number is verified: the answer says how to add one.
    expect(await chat(cat, 'follow @build via sms')).toMatch(/Texts need a verified phone number: phone \+15551234567/);
  });
});

describe('texts in: STOP, START, HELP and commands', () => {
  it('STOP (and its family) stops every text to the number, recorded; START resumes', async () => {
    for (const word of ['STOP', 'stopall', 'Unsubscribe', 'CANCEL', 'end', 'QUIT']) {
      expect(await h.text(ANN, word)).toBe('You will get no more texts from Twitterprise. Text START to get them again.');
      expect((await phoneRow(ann.id))!.stoppedAt).toBeInstanceOf(Date);
      expect(await h.text(ANN, 'start')).toMatch(/^Texts from Twitterprise are on again/);
      expect((await phoneRow(ann.id))!.stoppedAt).toBeNull();
    }
    const log = await h.t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, ann.id));
    expect(log.filter((c) => c.action === 'sms_stop')).toHaveLength(6);
    expect(log.filter((c) => c.action === 'sms_start')).toHaveLength(6);
    expect(log.find((c) => c.action === 'sms_stop')).toMatchObject({ object: `sms:${ANN}`, via: 'sms' });
    // STOP concerns texts only: the person's deliveries elsewhere are not switched off.
    expect((await getSourceById(h.t.ctx.db, ann.id))!.switchedOff).toBe(false);
  });

  it('HELP answers the usage; an unknown number is told how to link', async () => {
    expect(await h.text(ANN, 'help')).toBe(SMS_USAGE);
    expect(await h.text('+15559999999', 'follow build')).toMatch(/^This number is not linked to Twitterprise/);
  });

  it('runs commands in the one grammar, handles without @', async () => {
    expect(await h.text(ANN, 'follow build via sms')).toBe('You follow @build in text messages to your phone.');
    const [f] = await h.t.database.db.select().from(follows).where(eq(follows.subscriberId, ann.id));
    expect(f).toMatchObject({ route: 'sms', state: 'active' });
    expect(await h.text(ANN, 'following')).toMatch(/@build: in text messages to your phone/);
    expect(await h.text(ANN, 'get build')).toMatch(/build/);
    // `d alice lunch?` is the direct message command, handle without @ (here refused: they do not follow each other).
    const dm = await h.text(ANN, 'd ben lunch?');
    expect(dm).toBe((await executeCommand(h.t.ctx, { actor: ann, platform: 'slack', text: 'd @ben lunch?' })).text);
    expect(dm).not.toMatch(/did you mean|needs a @handle/);
    // off / on by text mean what they mean in chat: every delivery.
    expect(await h.text(ANN, 'off')).toMatch(/off/i);
    expect((await getSourceById(h.t.ctx.db, ann.id))!.switchedOff).toBe(true);
    expect(await h.text(ANN, 'on')).toMatch(/on/i);
    expect((await getSourceById(h.t.ctx.db, ann.id))!.switchedOff).toBe(false);
  });

  it('posts a status only with "post"; a stray reply gets the usage and is never published', async () => {
    expect(await h.text(ANN, 'ok thanks')).toContain(SMS_USAGE);
    expect(await h.text(ANN, 'Sounds good 👍')).toContain('only when it starts with "post"');
    expect(await h.t.database.db.select().from(statuses).where(eq(statuses.sourceId, ann.id))).toHaveLength(0);
    expect(await h.text(ANN, 'post On my way 🚲')).toMatch(/posted|Posted/);
    const posted = await h.t.database.db.select().from(statuses).where(eq(statuses.sourceId, ann.id));
    expect(posted.map((s) => [s.text, s.platform])).toEqual([['On my way 🚲', 'sms']]);
  });

  it('phone off forgets the number', async () => {
    expect(await chat(ben, 'phone off')).toBe(`Your number ${BEN} is removed: nothing will be texted to you.`);
    expect(await phoneRow(ben.id)).toBeUndefined();
    expect(await h.text(BEN, 'following')).toMatch(/^This number is not linked/);
  });
});

describe('the webhook refuses what Twilio did not sign, and hostile bodies', () => {
  it('403 for a forged, missing or replayed-elsewhere signature; nothing is done', async () => {
    const f = inboundFields(ANN, 'STOP');
    expect((await h.inbound(f, { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' })).status).toBe(403);
    expect((await h.inbound(f, { signature: null })).status).toBe(403);
    // Signed for another URL (the loopback address the server listens on, or another path).
    expect((await h.inbound(f, { signature: signLikeTwilio(TEST_TOKEN, `${h.base}/sms/twilio`, f) })).status).toBe(403);
    // Signed, then a field changed on the way.
    expect((await h.inbound({ ...f, Body: 'START' }, { signature: signLikeTwilio(TEST_TOKEN, WEBHOOK, f) })).status).toBe(403);
    expect((await phoneRow(ann.id))!.stoppedAt).toBeNull();
  });

  it('answers TwiML, escaped', async () => {
    const r = await h.inbound(inboundFields(ANN, 'whois <script>'));
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/xml/);
    expect(r.text.startsWith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')).toBe(true);
    expect(r.text).not.toContain('<script>');
    // Twilio's Content-Type may carry a charset.
    expect((await h.inbound(inboundFields(ANN, 'help'), { contentType: 'application/x-www-form-urlencoded; charset=UTF-8' })).text).toContain('Twitterprise by text');
  });

  it('refuses a huge body (413), another content type (415), and a form without From (400)', async () => {
    const huge = inboundFields(ANN, 'x'.repeat(100_000));
    expect((await h.inbound(huge)).status).toBe(413);
    expect((await h.inbound(inboundFields(ANN, 'help'), { contentType: 'application/json' })).status).toBe(415);
    const noFrom: Record<string, string> = { To: TEST_FROM, Body: 'help' };
    expect((await h.inbound(noFrom)).status).toBe(400);
  });

  it('survives malformed forms and odd unicode, signed or not', async () => {
    const raw = 'From=%2B15551230001&To=%2B15550001111&Body=%E0%A4%A&%%%=&&==&Body2=%ZZ';
    const fields = Object.fromEntries(new URLSearchParams(raw));
    const r = await h.inbound(fields, { raw, signature: signLikeTwilio(TEST_TOKEN, WEBHOOK, fields) });
    expect([200, 403]).toContain(r.status);
    for (const body of ['\u0000\u0007 help', '\uD800 follow build', 'ＳＴＯＰ', '‮tsoP', '🙂'.repeat(500), 'follow\u200bbuild']) {
      const res = await h.inbound(inboundFields(ANN, body));
      expect(res.status, JSON.stringify(body)).toBe(200);
      // XML 1.0 cannot carry C0 controls other than tab, newline and carriage return.
      expect([...res.text].some((c) => c.charCodeAt(0) < 9)).toBe(false);
    }
    expect(await h.t.database.db.select().from(sources).where(eq(sources.kind, 'person'))).toHaveLength(3);
  });
});
