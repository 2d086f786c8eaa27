import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.js';
import { configProblems as problems } from '../../helpers/config.js';
import { readyParts } from '../../../src/ready-line.js';


describe('XMPP configuration', () => {
  it('is off without the three variables, and the ready line says so', () => {
    const c = parseConfig({});
    expect(c.xmpp).toBeNull();
    expect(readyParts(c, 'all', { port: 3000, redis: '127.0.0.1:6379' })).toContain('xmpp: off');
  });

  it('takes service, domain and secret together and names them in the ready line', () => {
    const c = parseConfig({ XMPP_SERVICE: 'xmpp://127.0.0.1:5347', XMPP_DOMAIN: 'TP.example.com', XMPP_SECRET: 's3cret' });
    expect(c.xmpp).toEqual({ service: 'xmpp://127.0.0.1:5347', domain: 'tp.example.com', secret: 's3cret' });
    expect(readyParts(c, 'worker', { port: null, redis: '127.0.0.1:6379' })).toContain('xmpp: tp.example.com via 127.0.0.1:5347');
  });

  it('names what is missing or malformed, one line each', () => {
    expect(problems({ XMPP_DOMAIN: 'tp.example.com' })).toEqual([expect.stringMatching(/^XMPP_SERVICE, XMPP_SECRET: XMPP needs/)]);
    expect(problems({ XMPP_SERVICE: 'http://x', XMPP_DOMAIN: 'not a domain', XMPP_SECRET: 's' })).toEqual([
      expect.stringMatching(/^XMPP_SERVICE: must be xmpp:\/\/host:port/),
      expect.stringMatching(/^XMPP_DOMAIN: must be a domain name/),
    ]);
  });
});
