import express from 'express';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.js';
import { createSlackIntegration, slackMode } from '../../../src/integrations/slack/index.js';
import { startFakeSlackApi, type FakeSlackApi } from '../../fakes/slack-api.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { BOT_TOKEN, SIGNING_SECRET } from './helpers.js';

describe('slackMode', () => {
  const base = { SLACK_API_URL: 'http://127.0.0.1:1/api/' };
  it('reads the mode from the configuration', () => {
    expect(slackMode(parseConfig({ ...base }))).toBeNull();
    expect(slackMode(parseConfig({ ...base, SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-1' }))).toBe('token');
    expect(
      slackMode(parseConfig({ ...base, SLACK_SIGNING_SECRET: 's', SLACK_CLIENT_ID: 'c', SLACK_CLIENT_SECRET: 'cs', SLACK_STATE_SECRET: 'ss' })),
    ).toBe('oauth');
    expect(slackMode(parseConfig({ ...base, SLACK_APP_TOKEN: 'xapp-1', SLACK_BOT_TOKEN: 'xoxb-1' }))).toBe('socket');
  });
});

describe('Socket Mode', () => {
  let fake: FakeSlackApi;
  let t: TestContext;
  beforeAll(async () => {
    fake = await startFakeSlackApi();
    t = await createTestContext({ SLACK_APP_TOKEN: 'xapp-test', SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: fake.apiUrl });
  });
  afterAll(async () => {
    await fake?.stop();
    await t?.drop();
  });

  // start() would open a WebSocket to Slack; only the parts that need no Slack servers are tested.
  it('mounts no HTTP endpoint and still delivers through the messenger', async () => {
    const integration = createSlackIntegration(t.ctx, { botId: 'BBOT', botUserId: 'UBOT' });
    const app = express();
    integration.mount?.(app);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    const out = await integration.messenger!.sendToChannel({ channelId: 'c', platform: 'slack', tenant: 'T1', externalId: 'C1', data: {} }, { kind: 'notice', text: 'hi' });
    expect(out.kind).toBe('sent');
    expect(fake.callsOf('chat.postMessage')[0]!.token).toBe(BOT_TOKEN);
  });
});

describe('without Slack configuration', () => {
  it('refuses to build', async () => {
    const t = await createTestContext();
    try {
      expect(() => createSlackIntegration(t.ctx)).toThrow(/Slack is not configured/);
    } finally {
      await t.drop();
    }
  });
});
