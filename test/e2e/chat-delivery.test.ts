import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { personalMessage, postActivity, teamsUser, type TeamsUser } from '../integrations/teams/helpers.js';
import { ACTION_APPROVE } from '../../src/integrations/slack/scopes.js';
import { buttonPress, eventCallback, sendEvent, sendInteraction, sendSlashCommand, slackEnv } from '../integrations/slack/helpers.js';
import { ADMIN, eventually, person, startE2E, type E2E } from './harness.js';

/**
 * The whole app with Slack (fake Web API on 127.0.0.1, signed requests) and Teams (fake Bot Framework
 * connector on 127.0.0.1): one follow graph across both platforms.
 */
let e: E2E;
let slack: FakeSlackApi;
let connector: FakeBotConnector;
let teamsTom: TeamsUser;

const slackUser = (id: string, name: string, email: string) =>
  slack.addUser({ id, team_id: 'T1', name, real_name: name, tz: 'Europe/Berlin', profile: { email, real_name: name } });

let seq = 0;
/** A signed /tp command; resolves with the private reply, which comes through the response_url after the ack. */
async function slash(user: string, text: string, where: { channel_id: string; channel_name: string } = { channel_id: 'D0DM', channel_name: 'directmessage' }) {
  const id = `${user}-${++seq}`;
  const r = await sendSlashCommand(e.url, { user_id: user, text, response_url: slack.responseUrl(id), ...where });
  expect(r.status).toBe(200);
  const reply = await slack.waitForResponse(id, 10_000);
  expect(reply.body.response_type).toBe('ephemeral');
  return reply;
}

async function teamsSays(user: TeamsUser, text: string) {
  const r = await postActivity(e.url, personalMessage({ serviceUrl: connector.serviceUrl, from: user, text }));
  expect(r.status).toBeLessThan(300);
}

const slackDmsTo = (channel: string) => slack.callsOf('chat.postMessage').filter((c) => c.params.channel === channel);

beforeAll(async () => {
  slack = await startFakeSlackApi();
  connector = await FakeBotConnector.start();
  e = await startE2E(slackEnv(slack.apiUrl), { slack: { botId: 'BBOT', botUserId: 'UBOT' } });
  slackUser('USAM', 'Sam', 'sam@corp.example');
  slackUser('UANN', 'Ann', 'ann@corp.example');
  teamsTom = teamsUser(connector, 'Tom', 'tom@corp.example');
}, 60_000);

afterAll(async () => {
  await e?.close();
  await slack?.stop();
  await connector?.close();
});

describe('end to end: chat delivery', () => {
  it('a Slack user follows a person who posts over the API, and the DM arrives', async () => {
    const api = await person(e, 'paula');
    await slash('USAM', 'follow @paula');
    const posted = await e.call<{ id: string }>('POST', '/api/v1/statuses', { token: api.token, body: { text: 'Lunch talk at 12 in room 4' } });
    expect(posted.status).toBe(201);
    const t0 = Date.now();
    const dm = await eventually(
      () => slack.callsOf('chat.postMessage').find((c) => String(c.params.text ?? '').includes('Lunch talk at 12')),
      'the Slack DM',
      5_000,
    );
    // Latency is measured properly by `npm run bench`; here we only report it.
    console.log(`api post -> Slack DM: ${Date.now() - t0} ms`);
    const open = slack.callsOf('conversations.open').find((c) => String(c.params.users) === 'USAM');
    expect(open).toBeTruthy();
    expect(JSON.stringify(dm.params.blocks)).toContain('off @paula');
  });

  it('a Slack user follows a Teams user; the Teams user posts; the Slack DM arrives', async () => {
    await teamsSays(teamsTom, 'hello from teams, this is my first message');
    // Tom now exists as @tom (from his email); Ann on Slack follows him.
    await slash('UANN', 'follow @tom');
    await teamsSays(teamsTom, 'Release notes are out #release');
    await eventually(
      () => slack.callsOf('chat.postMessage').find((c) => String(c.params.text ?? '').includes('Release notes are out')),
      'the Slack DM from a Teams post',
    );
  });

  it('a Teams user follows a Slack user; the Slack user posts; the Teams card arrives', async () => {
    await teamsSays(teamsTom, 'follow @sam');
    await slash('USAM', 'post Coffee machine fixed on 3rd floor');
    const card = await eventually(
      () => connector.messages().find((m) => JSON.stringify(m.activity).includes('Coffee machine fixed')),
      'the Teams delivery',
    );
    const attachments = (card.activity.attachments ?? []) as { contentType: string }[];
    expect(attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    // The text fallback travels as `summary` and the card's fallbackText (Teams shows `text` above a card).
    expect(String(card.activity.summary ?? '')).toContain('Coffee machine fixed');
  });

  it('a Slack channel follows a source with /tp channel follow; statuses are posted there until the bot is removed', async () => {
    const api = await person(e, 'rita');
    const ops = { channel_id: 'COPS', channel_name: 'ops' };
    const followed = await slash('UANN', 'channel follow @rita', ops);
    expect(JSON.stringify(followed.body)).toContain('@rita');
    const post = (text: string) => e.call('POST', '/api/v1/statuses', { token: api.token, body: { text } });
    expect((await post('Release 7 is out')).status).toBe(201);
    const inChannel = await eventually(
      () => slack.callsOf('chat.postMessage').find((c) => c.params.channel === 'COPS' && String(c.params.text ?? '').includes('Release 7 is out')),
      'the channel post',
    );
    expect(JSON.stringify(inChannel.params.blocks)).toContain('Release 7 is out');

    // Someone removes the bot from #ops: the channel's follow ends, and the next status goes nowhere there.
    const left = await sendEvent(e.url, eventCallback({ type: 'channel_left', channel: 'COPS', actor_id: 'UANN' }, { teamId: 'T1' }));
    expect(left.status).toBe(200);
    const listed = await eventually(async () => {
      const r = await slash('UANN', 'channel list', ops);
      return JSON.stringify(r.body).includes('@rita') ? null : r;
    }, 'the follow ended');
    expect(JSON.stringify(listed.body)).not.toContain('@rita');
    // Ann follows Rita herself: her DM shows the next status went out, and not to #ops.
    await slash('UANN', 'follow @rita');
    expect((await post('Release 8 is out')).status).toBe(201);
    const mentions = (c: { params: Record<string, unknown> }) => String(c.params.text ?? '').includes('Release 8');
    await eventually(() => slack.callsOf('chat.postMessage').find((c) => mentions(c) && c.params.channel !== 'COPS'), "Ann's DM");
    expect(slack.callsOf('chat.postMessage').filter((c) => mentions(c) && c.params.channel === 'COPS')).toHaveLength(0);
  });

  it('a protected service: /tp follow asks its owner in Slack, Approve is pressed, the requester is told, statuses flow', async () => {
    await slash('UANN', 'help'); // Ann is known from her first command
    const made = await e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'vault', name: 'Vault', visibility: 'protected', owners: ['ann'] } });
    expect(made.status).toBe(201);
    const asked = await slash('USAM', 'follow @vault');
    expect(JSON.stringify(asked.body)).toContain('@vault is protected: your request to follow it was sent');

    // The owner's DM carries Approve and Deny buttons with the follow's id.
    const request = await eventually(
      () => slack.callsOf('chat.postMessage').find((c) => c.params.channel === 'DANN' && JSON.stringify(c.params.blocks ?? '').includes(ACTION_APPROVE)),
      "the request in Ann's DM",
    );
    const blocks = (typeof request.params.blocks === 'string' ? JSON.parse(request.params.blocks) : request.params.blocks) as { elements?: { action_id?: string; value?: string }[] }[];
    const button = blocks.flatMap((b) => b.elements ?? []).find((el) => el.action_id === ACTION_APPROVE);
    expect(button?.value).toBeTruthy();
    const pressed = await sendInteraction(e.url, buttonPress({ userId: 'UANN', actionId: ACTION_APPROVE, value: button!.value!, responseUrl: slack.responseUrl('vault-approve'), channel: 'DANN' }));
    expect(pressed.status).toBe(200);
    await slack.waitForResponse('vault-approve', 10_000);

    // Sam is told in his DM, and the vault's next status reaches him.
    await eventually(() => slack.callsOf('chat.postMessage').find((c) => c.params.channel === 'DSAM' && /approved/i.test(JSON.stringify(c.params))), 'the approval notice to Sam');
    expect((await e.call('POST', '/api/v1/statuses', { token: ADMIN, body: { as: 'vault', text: 'Quarter closed' } })).status).toBe(201);
    await eventually(() => slack.callsOf('chat.postMessage').find((c) => c.params.channel === 'DSAM' && String(c.params.text ?? '').includes('Quarter closed')), 'the protected status to Sam');
  });

  it('d @handle works across platforms between mutual followers', async () => {
    await slash('USAM', 'follow @tom');
    await slash('USAM', 'd @tom are you joining the retro?');
    await eventually(() => connector.messages().find((m) => JSON.stringify(m.activity).includes('are you joining the retro?')), 'the direct message on Teams');
    expect(slackDmsTo('D-none')).toHaveLength(0);
  });
});
