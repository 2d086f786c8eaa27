import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.js';
import { startApp, type RunningApp } from '../../../src/main.js';
import { ADMIN, startE2E, type E2E } from '../../e2e/harness.js';
import { startProsody, type Prosody } from '../../fakes/prosody.js';
import { connectPeer, type Peer } from '../../fakes/xmpp-peer.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * SPEC section 8: the server takes one connection per component, so of several workers exactly one holds
 * it (an advisory lock), the others deliver through it, and when the holder's session dies another
 * worker takes over.
 */

let prosody: Prosody;
let e: E2E;
let second: RunningApp;
let app: Peer;

const authenticated = () => prosody.log().split('\n').filter((l) => l.includes('External component successfully authenticated')).length;

beforeAll(async () => {
  prosody = await startProsody();
  prosody.register('app', 'pw');
  const env = { XMPP_SERVICE: prosody.componentService, XMPP_DOMAIN: prosody.componentDomain, XMPP_SECRET: prosody.secret };
  const tuning = { waitMs: 2000, leaderPollMs: 200 };
  e = await startE2E(env, { xmpp: tuning });
  // A second worker process on the same database and queues.
  second = await startApp({
    config: parseConfig({ DATABASE_URL: e.database.url, REDIS_URL: e.app.ctx.config.redisUrl, QUEUE_PREFIX: e.app.ctx.config.queuePrefix, LOG_LEVEL: 'silent', ...env }),
    role: 'worker',
    log: pino({ level: 'silent' }),
    xmpp: tuning,
  });
  app = await connectPeer(prosody, 'app');
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await second?.close();
  await e?.close();
  await prosody?.close();
});

it('one worker holds the component connection; when its session dies another takes over and nothing is lost', async () => {
  await waitUntil(() => (e.app.xmpp!.online || second.xmpp!.online) && true, 'a holder online');
  // Give the other worker several chances to try: it must not.
  await new Promise((r) => setTimeout(r, 1000));
  expect([e.app.xmpp!.leader, second.xmpp!.leader].filter(Boolean)).toHaveLength(1);
  expect(authenticated()).toBe(1);

  expect((await e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle: 'build', name: 'Build' } })).status).toBe(201);
  const token = (await e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: '@build' } })).body.token;
  await app.presence(`build@${prosody.componentDomain}`, 'subscribe');
  await app.waitFor((el) => el.name === 'presence' && el.attrs.type === 'subscribed', 'subscribed');
  const post = async (text: string) => {
    const r = await e.call<{ id: string }>('POST', '/api/v1/statuses', { token, body: { text } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id;
  };
  const delivered = (id: string) => app.waitFor((el) => el.name === 'message' && (el.getChildText('json', 'urn:xmpp:json:0') ?? '').includes(id), `status ${id}`);

  await delivered(await post('before the takeover'));

  const holder = e.app.xmpp!.leader ? e.app : second;
  const other = holder === e.app ? second : e.app;
  // The holder's lock session dies (as when its process is killed): PostgreSQL frees the lock.
  const admin = postgres(e.database.url, { max: 1, onnotice: () => {} });
  try {
    // pg_locks spans the server: only this test's database counts (other test files hold locks of their own).
    const killed = await admin`select pg_terminate_backend(pid) as ok from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`;
    expect(killed.length).toBe(1);
  } finally {
    await admin.end();
  }
  await waitUntil(() => other.xmpp!.online, 'the other worker online', 20_000);
  expect(holder.xmpp!.leader).toBe(false);

  await delivered(await post('after the takeover'));
}, 60_000);
