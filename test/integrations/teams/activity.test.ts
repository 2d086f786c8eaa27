import { describe, expect, it } from 'vitest';
import { channelIdOf, isTopLevel, scopeOf, stripThread, teamsActivity, tenantOf, textWithoutBotMention, toPlainText } from '../../../src/integrations/teams/activity.js';
import { outcomeOf, retryAfterMs } from '../../../src/integrations/teams/send-outcome.js';
import { BOT, TENANT, channelMessage, groupChatMessage, mentionText, personalMessage, teamsUser } from './helpers.js';

const serviceUrl = 'http://127.0.0.1:9/';
const user = teamsUser(null, 'Ada Lovelace', 'ada@example.com');
const where = { teamId: '19:team@thread.tacv2', channelId: '19:chan@thread.tacv2' };
const parse = (a: Record<string, unknown>) => teamsActivity.parse(a);

describe('reading Teams activities', () => {
  it('knows the scope, the tenant and the channel of a message', () => {
    const p = parse(personalMessage({ serviceUrl, from: user, text: 'hi' }));
    const c = parse(channelMessage({ serviceUrl, from: user, ...where, text: 'hi' }));
    const g = parse(groupChatMessage({ serviceUrl, from: user, chatId: '19:chat@thread.v2', text: 'hi' }));
    expect([scopeOf(p), scopeOf(c), scopeOf(g)]).toEqual(['personal', 'channel', 'groupChat']);
    expect(tenantOf(p)).toBe(TENANT);
    expect(channelIdOf(c)).toBe(where.channelId);
    expect(channelIdOf(g)).toBe('19:chat@thread.v2');
    expect(stripThread('19:chan@thread.tacv2;messageid=1700000000001')).toBe('19:chan@thread.tacv2');
  });

  it('tells a new channel post from a reply in a thread', () => {
    expect(isTopLevel(parse(channelMessage({ serviceUrl, from: user, ...where, text: 'new' })))).toBe(true);
    expect(isTopLevel(parse(channelMessage({ serviceUrl, from: user, ...where, text: 're', threadId: '1690000000000' })))).toBe(false);
  });

  it('removes the bot mention and HTML remnants', () => {
    const a = parse(channelMessage({ serviceUrl, from: user, ...where, mentionBot: true, text: 'channel&nbsp;follow @build' }));
    expect(a.text).toContain(mentionText(BOT));
    expect(toPlainText(textWithoutBotMention(a))).toBe('channel follow @build');
    expect(toPlainText('<p>Tom &amp; Jerry</p><p>&lt;3</p>')).toBe('Tom & Jerry\n<3');
  });
});

describe('what a failed Teams call means', () => {
  const restError = (statusCode: number, headers: Record<string, string> = {}) =>
    Object.assign(new Error('boom'), { statusCode, code: 'X', response: { headers: { get: (n: string) => headers[n.toLowerCase()] } } });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs(restError(429, { 'retry-after': '3' }))).toBe(3000);
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(retryAfterMs(restError(429, { 'retry-after': 'Mon, 23 Nov 2026 10:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(restError(429))).toBeUndefined();
  });

  it('maps statuses to retry, skip or fail', () => {
    expect(outcomeOf(restError(429, { 'retry-after': '2' }))).toMatchObject({ kind: 'retry', retryAfterMs: 2000 });
    expect(outcomeOf(restError(429)).kind).toBe('retry');
    for (const s of [412, 500, 502, 503, 504]) expect(outcomeOf(restError(s)).kind).toBe('retry');
    expect(outcomeOf(restError(403)).kind).toBe('skip');
    expect(outcomeOf(restError(404)).kind).toBe('skip');
    expect(outcomeOf(restError(400)).kind).toBe('fail');
    expect(outcomeOf(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind).toBe('retry');
  });
});
