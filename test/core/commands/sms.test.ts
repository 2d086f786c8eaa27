import { describe, expect, it } from 'vitest';
import { parseSmsCommand, SMS_USAGE, withBareHandles } from '../../../src/core/commands/sms.js';
import { DomainError } from '../../../src/core/errors.js';

describe('the grammar by text message', () => {
  it.each([
    ['follow build', 'follow @build'],
    ['Follow Build via sms', 'Follow @Build via sms'],
    ['get build', 'get @build'],
    ['last build', 'last @build'],
    ['d alice lunch?', 'd @alice lunch?'],
    ['off build', 'off @build'],
    ['off', 'off'],
    ['follow #deploy', 'follow #deploy'],
    ['track outage', 'track outage'],
    ['help follow', 'help follow'],
    ['post follow build', 'post follow build'],
  ])('%s reads as %s', (text, expected) => {
    expect(withBareHandles(text)).toBe(expected);
  });

  it('parses into the same commands as chat', () => {
    expect(parseSmsCommand('follow build via dm+sms')).toEqual({ name: 'follow', target: { kind: 'source', handle: 'build' }, filters: [], route: ['dm', 'sms'] });
    expect(parseSmsCommand('d alice lunch?')).toEqual({ name: 'd', handle: 'alice', text: 'lunch?' });
    expect(parseSmsCommand('OFF')).toEqual({ name: 'off', target: null });
    expect(parseSmsCommand('post on my way')).toEqual({ name: 'post', text: 'on my way' });
  });

  it('never posts a stray reply: it gets the usage', () => {
    for (const stray of ['ok thanks', 'Yes!', '123456', 'Sounds good 👍']) {
      let err: unknown;
      try {
        parseSmsCommand(stray);
      } catch (e) {
        err = e;
      }
      expect(err, stray).toBeInstanceOf(DomainError);
      expect((err as DomainError).usage).toBe(SMS_USAGE);
    }
    // A command word with words that are not its arguments is that command's mistake, not a status.
    expect(() => parseSmsCommand('on my way in 5')).toThrow(/To post this text as a status, start it with "post"/);
  });
});
