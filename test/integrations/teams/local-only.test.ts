import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createTeamsIntegration } from '../../../src/integrations/teams/index.js';
import { createTestContext } from '../../helpers/context.js';
import { isLoopbackHost, isLoopbackUrl, localOnlyRefusal } from '../../../src/integrations/teams/local-only.js';

describe('Teams without authentication accepts only local activities', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.9.8.7', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['10.0.0.1', false],
    ['192.168.1.10', false],
    ['::ffff:10.0.0.1', false],
    ['::', false],
    ['::2', false],
    ['smba.trafficmanager.net', false],
    ['127.0.0.1.nip.io', false],
    ['', false],
  ])('%s is loopback: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });

  it('checks the serviceUrl the bot would call', () => {
    expect(isLoopbackUrl('http://127.0.0.1:4000/')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:4000/')).toBe(true);
    expect(isLoopbackUrl('https://smba.trafficmanager.net/emea/')).toBe(false);
    expect(isLoopbackUrl('http://169.254.169.254/')).toBe(false);
    expect(isLoopbackUrl('file:///etc/passwd')).toBe(false);
    expect(isLoopbackUrl(undefined)).toBe(false);
  });

  it('refuses a remote caller, a proxied request and a remote serviceUrl', () => {
    const local = { remoteAddress: '127.0.0.1', headers: {}, serviceUrl: 'http://127.0.0.1:4000/' };
    expect(localOnlyRefusal(local)).toBeNull();
    expect(localOnlyRefusal({ ...local, remoteAddress: '::ffff:127.0.0.1' })).toBeNull();
    expect(localOnlyRefusal({ ...local, remoteAddress: '203.0.113.9' })).toMatch(/only requests from this machine/);
    expect(localOnlyRefusal({ ...local, remoteAddress: undefined })).toMatch(/only requests from this machine/);
    expect(localOnlyRefusal({ ...local, headers: { 'x-forwarded-for': '203.0.113.9' } })).toMatch(/proxied/);
    expect(localOnlyRefusal({ ...local, headers: { forwarded: 'for=203.0.113.9' } })).toMatch(/proxied/);
    expect(localOnlyRefusal({ ...local, serviceUrl: 'https://evil.example/' })).toMatch(/loopback/);
  });
});

describe('start-up without MICROSOFT_APP_ID', () => {
  it('says in the log that authentication is off and only local activities are accepted', async () => {
    const lines: { level: number; msg: string; name?: string }[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => void (lines.push(JSON.parse(String(chunk))), done()) });
    for (const appId of ['', 'b1c2d3e4-0000-4000-8000-000000000001']) {
      const t = await createTestContext({ MICROSOFT_APP_ID: appId, MICROSOFT_APP_PASSWORD: appId ? 'secret' : '' });
      try {
        createTeamsIntegration({ ...t.ctx, log: pino({ level: 'info' }, sink) });
      } finally {
        await t.drop();
      }
    }
    const warnings = lines.filter((l) => l.level === 40 && l.name === 'teams');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/MICROSOFT_APP_ID is empty: Teams authentication is disabled.*Only local activities/);
  });
});
