import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.js';
import { configProblems as problems } from '../../helpers/config.js';
import { readyParts } from '../../../src/ready-line.js';
import { TEST_FROM, TEST_SID } from '../../fakes/twilio.js';

const twilio = { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: TEST_SID, TWILIO_AUTH_TOKEN: 'secret', TWILIO_FROM: TEST_FROM };

describe('SMS configuration', () => {
  it('is off unless SMS_PROVIDER is set; the ready line says so', () => {
    const c = parseConfig({});
    expect(c.sms).toBeNull();
    expect(readyParts(c, 'all', { port: 3000, redis: '127.0.0.1:6379' })).toContain('sms: off');
  });

  it('reads Twilio, with the API base and SMS_PER_HOUR defaults, and names the sending number in the ready line', () => {
    const c = parseConfig(twilio);
    expect(c.sms).toEqual({ provider: 'twilio', perHour: 20, twilio: { accountSid: TEST_SID, authToken: 'secret', from: TEST_FROM, apiUrl: 'https://api.twilio.com' } });
    expect(readyParts(c, 'web', { port: 3000, redis: '127.0.0.1:6379' })).toContain(`sms: twilio ${TEST_FROM}`);
    expect(parseConfig({ ...twilio, SMS_PER_HOUR: '5', TWILIO_API_URL: 'http://127.0.0.1:9999/' }).sms).toMatchObject({ perHour: 5, twilio: { apiUrl: 'http://127.0.0.1:9999' } });
  });

  it('names every missing or malformed variable', () => {
    expect(problems({ SMS_PROVIDER: 'twilio' })).toEqual(['TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM: SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM']);
    expect(problems({ ...twilio, TWILIO_ACCOUNT_SID: 'nope' })[0]).toMatch(/^TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits/);
    expect(problems({ ...twilio, TWILIO_FROM: '555-1234' })[0]).toMatch(/^TWILIO_FROM: must be an E.164 number/);
    expect(problems({ ...twilio, SMS_PER_HOUR: '0' })[0]).toMatch(/^SMS_PER_HOUR: must be a whole number from 1 to 10,000/);
    expect(problems({ SMS_PROVIDER: 'carrier-pigeon' })[0]).toMatch(/^SMS_PROVIDER: must be twilio/);
  });
});
