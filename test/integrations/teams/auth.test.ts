import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../../fakes/bot-connector.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { personalMessage, postActivity, startTeamsApp, teamsUser, type TeamsApp } from './helpers.js';

/**
 * With credentials configured, an activity without a JWT is refused, before any outbound connection.
 * Tokens (forged, valid, for another serviceUrl) are tested against a fake OpenID issuer on 127.0.0.1:
 * test/security/teams-inbound.test.ts.
 */
describe('Teams with MICROSOFT_APP_ID set', () => {
  let t: TestContext;
  let connector: FakeBotConnector;
  let app: TeamsApp;

  beforeAll(async () => {
    t = await createTestContext({ MICROSOFT_APP_ID: '5b8a3c2e-1f4d-4e6a-9b7c-0d1e2f3a4b5c', MICROSOFT_APP_PASSWORD: 'not-a-real-secret', MICROSOFT_APP_TYPE: 'MultiTenant' });
    connector = await FakeBotConnector.start();
    app = await startTeamsApp(t.ctx);
  });
  afterAll(async () => {
    await app?.close();
    await connector?.close();
    await t?.drop();
  });

  it('refuses an unauthenticated POST with 401 before any outbound connection', async () => {
    // Every client socket opened during the request is watched; one that resolves a host name is
    // destroyed before it can connect (our own request goes to an IP literal and resolves nothing).
    const lookups: string[] = [];
    const connects: string[] = [];
    const watch = ({ socket }: { socket: Socket }) => {
      socket.on('lookup', (_err: Error | null, _ip: string, _family: number, host: string) => {
        lookups.push(host);
        socket.destroy();
      });
      socket.on('connect', () => connects.push(`${socket.remoteAddress}:${socket.remotePort}`));
    };
    diagnostics.subscribe('net.client.socket', watch as (m: unknown) => void);
    let r: { status: number; body: string };
    try {
      const user = teamsUser(connector, 'Mallory', 'mallory@example.com');
      r = await postActivity(app.baseUrl, personalMessage({ serviceUrl: connector.serviceUrl, from: user, text: 'token' }));
    } finally {
      diagnostics.unsubscribe('net.client.socket', watch as (m: unknown) => void);
    }
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ status: 401, title: 'Authentication required' });
    expect(lookups).toEqual([]);
    const port = new URL(app.baseUrl).port;
    // The watch saw our own request, and nothing else.
    expect(connects).toContain(`127.0.0.1:${port}`);
    expect(connects.every((c) => c === `127.0.0.1:${port}`)).toBe(true);
    expect(connector.requests).toHaveLength(0);
  });
});
