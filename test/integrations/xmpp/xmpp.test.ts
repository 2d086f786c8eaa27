import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Element } from '@xmpp/component';
import { executeCommand } from '../../../src/app/commands/execute.js';
import { getSourceByHandle } from '../../../src/app/people.js';
import { consentLog, deliveries, follows, xmppAddresses } from '../../../src/db/schema.js';
import { ADMIN, person, startE2E, type E2E } from '../../e2e/harness.js';
import { startProsody, type Prosody } from '../../fakes/prosody.js';
import { connectPeer, type Peer } from '../../fakes/xmpp-peer.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * XMPP end to end (SPEC section 8): a real Prosody with the component configured, the whole app
 * (web + worker) joined to it, and real @xmpp/client clients playing an accounting app and a person.
 */

let prosody: Prosody;
let e: E2E;
let app: Peer;
let alice: { handle: string; token: string };
let buildToken: string;
let C: string; // the component domain

const isPresence = (from: string, type?: string) => (el: Element) => el.name === 'presence' && el.attrs.from === from && el.attrs.type === type;
const bodyOf = (el: Element) => el.getChildText('body') ?? '';
const jsonOf = (el: Element) => JSON.parse(el.getChildText('json', 'urn:xmpp:json:0') ?? 'null') as { type: string; data: Record<string, unknown> };

async function post(token: string, text: string): Promise<string> {
  const r = await e.call<{ id: string }>('POST', '/api/v1/statuses', { token, body: { text } });
  expect(r.status).toBe(201);
  return r.body.id;
}

/** Sends a command to the component's bare domain and waits for the answer after it. */
async function command(peer: Peer, text: string): Promise<string> {
  const before = peer.messages().length;
  await peer.chat(C, text);
  const el = await peer.waitFor((m) => m.name === 'message' && m.attrs.from === C && peer.messages().indexOf(m) >= before, `an answer to "${text}"`);
  return bodyOf(el);
}

async function followOf(kind: 'xmpp' | 'person', id: string, handle: string) {
  const src = await getSourceByHandle(e.app.ctx, handle);
  const [f] = await e.app.ctx.db
    .select()
    .from(follows)
    .where(and(eq(follows.subscriberKind, kind), eq(follows.subscriberId, id), eq(follows.targetKind, 'source'), eq(follows.target, src!.id)));
  return f ?? null;
}

beforeAll(async () => {
  prosody = await startProsody();
  C = prosody.componentDomain;
  for (const u of ['app', 'alice', 'mallory', 'flood', 'other']) prosody.register(u, 'pw');
  e = await startE2E(
    { XMPP_SERVICE: prosody.componentService, XMPP_DOMAIN: C, XMPP_SECRET: prosody.secret, WEBHOOK_RETRY_DELAYS: '0.2,0.3,0.5,1,1,1,2,2,3,3,5,5,5,5' },
    { xmpp: { waitMs: 2000, leaderPollMs: 200 } },
  );
  alice = await person(e, 'alice');
  for (const [handle, visibility] of [
    ['build', 'public'],
    ['news', 'public'],
    ['payroll', 'protected'],
  ] as const) {
    const r = await e.call('POST', '/api/v1/services', { token: ADMIN, body: { handle, name: handle, visibility, owners: ['alice'] } });
    expect(r.status).toBe(201);
  }
  buildToken = (await e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: '@build' } })).body.token;
  app = await connectPeer(prosody, 'app');
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await e?.close();
  await prosody?.close();
});

describe('XMPP component', () => {
  it('subscribing to a public source is the opt-in: answered subscribed, recorded with the address as subject', async () => {
    await app.presence(`build@${C}`, 'subscribe');
    await app.waitFor(isPresence(`build@${C}`, 'subscribed'), 'subscribed from build');
    const f = await followOf('xmpp', app.jid, 'build');
    expect(f).toMatchObject({ state: 'active', route: 'xmpp' });
    const log = await e.app.ctx.db.select().from(consentLog).where(eq(consentLog.subjectId, `xmpp:${app.jid}`));
    expect(log.map((l) => [l.action, l.object, l.via])).toContainEqual(['follow', '@build', 'xmpp']);
    // A probe (the client logging in again) is answered online.
    await app.presence(`build@${C}`, 'probe');
    await app.waitFor((el) => el.name === 'presence' && el.attrs.from === `build@${C}` && el.attrs.type === undefined, 'available presence');
  });

  it('delivers a status as a chat message with the webhook event as XEP-0335 JSON, id = delivery id, stable on a re-send', async () => {
    const statusId = await post(buildToken, 'Lunch with the client $42.50 #expense');
    const msg = await app.waitFor((el) => el.name === 'message' && el.attrs.from === `build@${C}` && bodyOf(el).includes('Lunch'), 'the status');
    expect(msg.attrs.type).toBe('chat');
    expect(bodyOf(msg)).toContain(`/statuses/${statusId}`);
    const event = jsonOf(msg);
    expect(event.type).toBe('status.created');
    expect(event.data).toMatchObject({ id: statusId, text: 'Lunch with the client $42.50 #expense', source: { handle: 'build', kind: 'service' } });
    expect((event.data.entities as { amounts: unknown[] }).amounts).toEqual([{ value: '42.50', currency: 'USD' }]);
    // The message can arrive before the worker has written `sent`.
    const d = await waitUntil(async () => {
      const [row] = await e.app.ctx.db.select().from(deliveries).where(and(eq(deliveries.statusId, statusId), eq(deliveries.route, 'xmpp')));
      return row?.state === 'sent' && row;
    }, 'the delivery sent');
    expect(d).toMatchObject({ id: msg.attrs.id, subscriberKind: 'xmpp', subscriberId: app.jid });

    await e.app.pipeline.redeliver(d.id);
    await waitUntil(() => app.messages().filter((m) => m.attrs.id === d.id).length === 2, 'the re-sent message');
  });

  it('a deleted status reaches the app as status.deleted', async () => {
    const statusId = await post(buildToken, 'Wrong invoice EUR 12');
    await app.waitFor((el) => el.name === 'message' && bodyOf(el).includes('Wrong invoice'), 'the status');
    // status.deleted goes where the status is recorded as sent; the message can arrive before that row is written.
    await waitUntil(async () => {
      const [row] = await e.app.ctx.db.select().from(deliveries).where(and(eq(deliveries.statusId, statusId), eq(deliveries.route, 'xmpp')));
      return row?.state === 'sent';
    }, 'the delivery sent');
    expect((await e.call('DELETE', `/api/v1/statuses/${statusId}`, { token: buildToken })).status).toBe(204);
    const del = await app.waitFor((el) => el.name === 'message' && jsonOf(el)?.type === 'status.deleted' && jsonOf(el).data.id === statusId, 'status.deleted');
    expect(del.attrs.from).toBe(`build@${C}`);
  });

  it('a protected source turns the subscription into a request its owner decides: approve answers subscribed, deny unsubscribed', async () => {
    await app.presence(`payroll@${C}`, 'subscribe');
    await app.waitFor((el) => el.name === 'message' && bodyOf(el).includes('@payroll is protected'), 'the request notice');
    expect(await followOf('xmpp', app.jid, 'payroll')).toMatchObject({ state: 'pending' });
    const reqs = await e.call<{ items: { id: string }[] }>('GET', '/api/v1/follow-requests', { token: alice.token });
    expect(reqs.body.items.length).toBe(1);
    expect((await e.call('POST', `/api/v1/follows/${reqs.body.items[0]!.id}/approve`, { token: alice.token })).status).toBeLessThan(300);
    await app.waitFor(isPresence(`payroll@${C}`, 'subscribed'), 'subscribed from payroll');
    expect(await followOf('xmpp', app.jid, 'payroll')).toMatchObject({ state: 'active' });
    const salary = await post((await e.call<{ token: string }>('POST', '/api/v1/tokens', { token: ADMIN, body: { subject: '@payroll' } })).body.token, 'Payroll run done');
    await app.waitFor((el) => el.name === 'message' && jsonOf(el)?.data?.id === salary, 'the protected status');

    const mallory = await connectPeer(prosody, 'mallory');
    try {
      await mallory.presence(`payroll@${C}`, 'subscribe');
      await waitUntil(async () => (await followOf('xmpp', mallory.jid, 'payroll'))?.state === 'pending', 'mallory pending');
      const pending = await e.call<{ items: { id: string }[] }>('GET', '/api/v1/follow-requests', { token: alice.token });
      expect((await e.call('POST', `/api/v1/follows/${pending.body.items[0]!.id}/deny`, { token: alice.token })).status).toBeLessThan(300);
      await mallory.waitFor(isPresence(`payroll@${C}`, 'unsubscribed'), 'unsubscribed from payroll');
      expect(await followOf('xmpp', mallory.jid, 'payroll')).toBeNull();
      // An unknown handle is refused at once.
      await mallory.presence(`nobody@${C}`, 'subscribe');
      await mallory.waitFor(isPresence(`nobody@${C}`, 'unsubscribed'), 'unsubscribed from nobody');
    } finally {
      await mallory.stop();
    }
  });

  it('commands from an unlinked address: public follows and the switch only', async () => {
    expect(await command(app, 'help')).toContain('not linked');
    expect(await command(app, 'follow @news')).toContain('You follow @news');
    expect(await followOf('xmpp', app.jid, 'news')).toMatchObject({ state: 'active', route: 'xmpp' });
    expect(await command(app, 'follow @payroll')).toContain('protected');
    expect(await command(app, 'following')).toMatch(/@build[\s\S]*@news/);
    expect(await command(app, 'token')).toContain('not linked');
    expect(await command(app, 'off')).toContain('off');
    expect(await followOf('xmpp', app.jid, 'news')).toMatchObject({ state: 'off' });
    expect(await command(app, 'on')).toContain('on again');
    expect(await command(app, 'unfollow @news')).toContain('no longer follow @news');
    // A message to a contact rather than the domain is pointed to the domain.
    await app.chat(`build@${C}`, 'help');
    await app.waitFor((el) => el.name === 'message' && el.attrs.from === `build@${C}` && bodyOf(el).includes(`Commands go to ${C}`), 'the hint');
  });

  it('removing the contact ends the follow', async () => {
    await app.presence(`news@${C}`, 'subscribe');
    await app.waitFor(isPresence(`news@${C}`, 'subscribed'), 'subscribed from news');
    await app.presence(`news@${C}`, 'unsubscribe');
    await waitUntil(async () => (await followOf('xmpp', app.jid, 'news')) === null, 'the follow gone');
    const log = await e.app.ctx.db.select().from(consentLog).where(and(eq(consentLog.subjectId, `xmpp:${app.jid}`), eq(consentLog.action, 'unfollow')));
    expect(log.map((l) => l.object)).toContain('@news');
  });

  it('link xmpp sends a code; a wrong code is refused, the right one links the address and merges its follows', async () => {
    const client = await connectPeer(prosody, 'alice');
    try {
      const me = (await getSourceByHandle(e.app.ctx, 'alice'))!;
      // Alice follows @build by DM already; her client subscribes to it too before it is linked.
      expect((await executeCommand(e.app.ctx, { actor: me, platform: 'slack', text: 'follow @build' })).text).toContain('You follow @build');
      await client.presence(`build@${C}`, 'subscribe');
      await client.waitFor(isPresence(`build@${C}`, 'subscribed'), 'subscribed');
      const linkReply = await executeCommand(e.app.ctx, { actor: me, platform: 'slack', text: `link xmpp ${client.jid}` });
      expect(linkReply.text).toContain('A code is on its way');
      const codeMsg = await client.waitFor((el) => el.name === 'message' && el.attrs.from === C && bodyOf(el).includes('link code'), 'the code');
      const code = /code for @alice is (\d{6})/.exec(bodyOf(codeMsg))![1]!;
      const wrong = code === '123456' ? '654321' : '123456';
      expect(await command(client, `confirm ${wrong}`)).toContain('not right');
      expect((await e.app.ctx.db.select().from(xmppAddresses).where(eq(xmppAddresses.jid, client.jid)))[0]?.personId ?? null).toBeNull();
      expect(await command(client, `confirm ${code}`)).toContain("@alice's");
      expect((await e.app.ctx.db.select().from(xmppAddresses).where(eq(xmppAddresses.jid, client.jid)))[0]?.personId).toBe(me.id);
      expect(await followOf('xmpp', client.jid, 'build')).toBeNull();
      expect(await followOf('person', me.id, 'build')).toMatchObject({ route: 'dm+xmpp' });
      // Now the address acts as Alice through the one executor.
      expect(await command(client, 'following')).toContain('@build');
      expect(await command(client, 'confirm 111111')).toContain('already linked');
      const statusId = await post(buildToken, 'Build 77 green');
      const m = await client.waitFor((el) => el.name === 'message' && jsonOf(el)?.data?.id === statusId, 'the status at the linked address');
      expect(m.attrs.from).toBe(`build@${C}`);
      const log = await e.app.ctx.db.select().from(consentLog).where(and(eq(consentLog.subjectId, me.id), eq(consentLog.action, 'link')));
      expect(log.map((l) => l.object)).toEqual([`xmpp:${client.jid}`]);
    } finally {
      await client.stop();
    }
  });

  it('Prosody restarted mid-run: deliveries wait and retry, nothing is lost', async () => {
    await app.stop();
    await prosody.stop();
    const ids = [await post(buildToken, 'During the outage 1'), await post(buildToken, 'During the outage 2'), await post(buildToken, 'During the outage 3')];
    // Let the first attempts fail while the server is away.
    await waitUntil(async () => {
      const rows = await e.app.ctx.db.select().from(deliveries).where(eq(deliveries.route, 'xmpp'));
      return rows.filter((r) => ids.includes(r.statusId ?? '') && r.state === 'retrying').length > 0;
    }, 'a delivery retrying', 30_000);
    await prosody.start();
    app = await connectPeer(prosody, 'app');
    // The component's reconnect backoff (up to 30 s) and the deliveries' retries both run meanwhile.
    for (const id of ids) await app.waitFor((el) => el.name === 'message' && jsonOf(el)?.data?.id === id, `status ${id} after the restart`, 60_000);
    // The last message can arrive before its delivery row says `sent`.
    await waitUntil(async () => {
      const rows = await e.app.ctx.db.select().from(deliveries).where(and(eq(deliveries.route, 'xmpp'), eq(deliveries.subscriberId, app.jid)));
      return rows.filter((r) => ids.includes(r.statusId ?? '') && r.state === 'sent').length === ids.length;
    }, 'all three sent');
  }, 120_000);

  it('hostile stanzas: a huge body, bad XML and a presence flood are bounded and the component goes on', async () => {
    expect(await command(app, `post ${'x'.repeat(100_000)}`)).toContain('too long');

    const broken = await connectPeer(prosody, 'other');
    await broken.client.write('<message to="' + C + '"><body>unclosed</mess>').catch(() => {});
    await broken.stop();

    const flood = await connectPeer(prosody, 'flood');
    try {
      for (let i = 0; i < 300; i++) void flood.presence(`build@${C}`, 'subscribe');
      await flood.waitFor(isPresence(`build@${C}`, 'subscribed'), 'some answer');
      // Others are still served while the flooder is throttled.
      expect(await command(app, 'following')).toContain('@build');
      const answered = flood.received.filter(isPresence(`build@${C}`, 'subscribed')).length;
      expect(answered).toBeLessThan(300);
    } finally {
      await flood.stop();
    }
    const statusId = await post(buildToken, 'Still alive');
    await app.waitFor((el) => el.name === 'message' && jsonOf(el)?.data?.id === statusId, 'a status after the hostile stanzas');
  });
});
