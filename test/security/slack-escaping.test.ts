import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getSourceByHandle, linkIdentity, type SourceRow } from '../../src/app/people.js';
import { createService } from '../../src/app/services.js';
import { postStatus } from '../../src/app/statuses.js';
import { parseEntities } from '../../src/core/entities.js';
import type { OutboundMessage, StatusView } from '../../src/core/messages.js';
import type { ChannelAddress, IdentityAddress, Messenger } from '../../src/pipeline/messenger.js';
import { collectParsed, startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { eventCallback, sendEvent, sendSlashCommand, slackEnv, startSlackHarness, TEAM_ID, type SlackHarness } from '../integrations/slack/helpers.js';

/**
 * Class 1 of docs/security.md: nothing a person or an app wrote may ping a Slack channel or user, or
 * hide a link behind a label, in ANY field Slack parses: a message's `text` (shown in notifications),
 * its mrkdwn blocks, ephemeral replies, the App Home. Only links and dates we build are live.
 */
const HOSTILE = ['<!channel>', '<!here>', '<!everyone>', '<@U123>', '<!subteam^S1>', '<http://x|click here>'];
const EVIL = `Hi ${HOSTILE.join(' ')} & bye`;

let fake: FakeSlackApi;
let t: TestContext;
let h: SlackHarness;
let messenger: Messenger;
let jane: SourceRow;
let publicUrl: string;

/**
 * Inert: no `<...>` but the ones we build (a link to one of our pages, a link whose label is its own
 * URL, a `<!date^...>`), and every `&` an escape.
 */
function expectInert(entries: { where: string; text: string }[]): void {
  expect(entries.length).toBeGreaterThan(0);
  for (const { where, text } of entries) {
    const rest = text
      .replace(/<!date\^\d+\^[^|>]*\|[^<>]*>/g, '')
      .replace(/<([^<>|]+)\|([^<>]*)>/g, (all, url: string, label: string) => {
        const ours = url.startsWith(publicUrl);
        const self = decodeURIComponent(url.replace(/&amp;/g, '&')) === label.replace(/¦/g, '|').replace(/&amp;/g, '&');
        return ours || self ? '' : all;
      });
    expect(rest, `${where}: ${text}`).not.toMatch(/[<>]/);
    expect(rest, `${where}: ${text}`).not.toMatch(/&(?!amp;|lt;|gt;)/);
    for (const bad of HOSTILE) expect(text, where).not.toContain(bad);
  }
}

function view(text: string, id = '01JEVIL'): StatusView {
  return {
    id,
    url: `${publicUrl}/statuses/${id}`,
    text,
    created_at: '2026-11-23T10:00:00.000Z',
    platform: 'api',
    source: { handle: 'build', kind: 'service', name: '<!channel> Build' },
    entities: { ...parseEntities(text), amounts: [] },
  };
}

const janeAddress = (): IdentityAddress => ({ personId: jane.id, platform: 'slack', tenant: TEAM_ID, externalId: 'U100', data: {} });
const channel: ChannelAddress = { channelId: 'ch1', platform: 'slack', tenant: TEAM_ID, externalId: 'C1', data: {} };

beforeAll(async () => {
  fake = await startFakeSlackApi();
  t = await createTestContext(slackEnv(fake.apiUrl));
  publicUrl = t.ctx.config.publicUrl;
  h = await startSlackHarness(t.ctx, { botId: 'BBOT', botUserId: 'UBOT', ackBudgetMs: 2000 });
  messenger = h.integration.messenger!;
  fake.addUser({ id: 'U100', name: 'jane', real_name: 'Jane <!channel>', profile: { email: 'jane@corp.com' } });
  jane = await linkIdentity(t.ctx, { platform: 'slack', tenant: TEAM_ID, externalId: 'U100', email: 'jane@corp.com', name: 'Jane <!channel>' });
  await createService(t.ctx, { handle: 'build', name: 'Build <!here>', owners: [jane.handle] });
});

afterAll(async () => {
  await h?.close();
  await fake?.stop();
  await t?.drop();
});

beforeEach(() => fake.reset());

describe('Slack: every field we send is inert', () => {
  it('a status with every kind of mention and a disguised link, to a DM and to a channel', async () => {
    const m: OutboundMessage = { kind: 'status', status: view(EVIL), why: 'You follow @build <!here>', offHint: 'Stop with /tp unfollow @build' };
    expect((await messenger.sendToPerson(janeAddress(), m)).kind).toBe('sent');
    expect((await messenger.sendToChannel(channel, m)).kind).toBe('sent');
    const posts = fake.callsOf('chat.postMessage');
    expect(posts).toHaveLength(2);
    expectInert(fake.parsedTexts());
    for (const p of posts) {
      // Spelled out: the text field (what notifications show) carries the escaped forms.
      expect(String(p.params.text)).toContain('&lt;!channel&gt;');
      expect(String(p.params.text)).toContain('&lt;http://x|click here&gt;');
      expect(JSON.stringify(p.params.blocks)).toContain('&lt;!everyone&gt;');
    }
  });

  it('a follow request (the requester names itself), a direct message, a notice and a summary', async () => {
    const evilRef = { handle: 'jane', name: EVIL };
    const messages: OutboundMessage[] = [
      { kind: 'follow_request', followId: 'f1', requester: evilRef, source: { handle: 'build', name: EVIL } },
      { kind: 'direct', from: evilRef, text: EVIL },
      { kind: 'notice', text: `@jane approved your request. ${EVIL}` },
      { kind: 'summary', title: `While you were away ${EVIL}`, items: [view(EVIL, '01JA'), view(`second ${EVIL}`, '01JB')], more: 2 },
    ];
    for (const m of messages) expect((await messenger.sendToPerson(janeAddress(), m)).kind).toBe('sent');
    expect(fake.callsOf('chat.postMessage')).toHaveLength(messages.length);
    expectInert(fake.parsedTexts());
  });

  it('a URL in a status is still a link, one we build, showing its own address', async () => {
    await messenger.sendToPerson(janeAddress(), { kind: 'status', status: view('see https://example.com/a?b=1&c=2 now'), why: 'You follow @build', offHint: 'x' });
    const blocks = JSON.stringify(fake.callsOf('chat.postMessage')[0]!.params.blocks);
    expect(blocks).toContain('<https://example.com/a?b=1&amp;c=2|https://example.com/a?b=1&amp;c=2>');
    expect(blocks).toContain('"verbatim":true');
    expectInert(fake.parsedTexts());
  });

  it('replies that echo what was typed (the same rendering serves the ack, the response_url and say)', async () => {
    // Slack sends a typed `<` as &lt;: our plain text has the raw `<!channel>` again, and the error quotes it.
    const typed = HOSTILE.map((x) => x.replace(/</g, '&lt;').replace(/>/g, '&gt;')).join(' ');
    const inAck = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: `whois ${typed}` });
    expect(inAck.status).toBe(200);
    const acked = collectParsed(inAck.json, 'ack');
    expect(acked.map((e) => e.text).join(' ')).toContain('&lt;!channel&gt;');
    expectInert(acked);

    const follow = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: `follow ${typed}` });
    expectInert(collectParsed(follow.json, 'ack'));
    const post = await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: `d @nobody ${typed}` });
    expectInert(collectParsed(post.json, 'ack'));
  });

  it('the App Home shows statuses escaped', async () => {
    await sendSlashCommand(h.baseUrl, { user_id: 'U100', text: 'follow @build' });
    const build = await getSourceByHandle(t.ctx, 'build');
    await postStatus(t.ctx, { sourceId: build!.id, text: EVIL, platform: 'api' });
    fake.reset();
    await sendEvent(h.baseUrl, eventCallback({ type: 'app_home_opened', user: 'U100', channel: 'D100', tab: 'home' }));
    await fake.waitForCall('views.publish');
    const home = fake.parsedTexts();
    expect(home.some((e) => e.text.includes('&lt;!here&gt;'))).toBe(true);
    expectInert(home);
    // Verbatim: Slack itself turns nothing in a status into a link or a mention.
    const view = JSON.stringify(fake.callsOf('views.publish')[0]!.params.view);
    expect(view).toMatch(/"text":"\*@build\*[^"]*&lt;!here&gt;[^"]*","verbatim":true/);
  });
});

