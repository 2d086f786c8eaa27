import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import express from 'express';
import { simpleParser, type ParsedMail } from 'mailparser';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setFollowSwitch, resolveTarget, unfollow } from '../../../src/app/follows.js';
import { deleteStatus } from '../../../src/app/statuses.js';
import { openDatabase, type Database } from '../../../src/db/client.js';
import { consentLog, deliveries, digestRuns, sources } from '../../../src/db/schema.js';
import { createEmailIntegration, createMailer, sendDueDigests, type Mailer } from '../../../src/integrations/email/index.js';
import { unsubscribeKeys } from '../../../src/integrations/email/unsubscribe-keys.js';
import { signUnsubscribeToken } from '../../../src/integrations/email/unsubscribe-token.js';
import { startFakeSmtp, type FakeSmtp } from '../../fakes/smtp.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { follows, person, postQueued, service } from './seed.js';

let smtp: FakeSmtp;
let t: TestContext;
let server: Server;
let publicUrl: string;
let mailer: Mailer;
const silent = pino({ level: 'silent' });

// Monday 23 Nov 2026, 08:00:30 in Berlin (CET, UTC+1).
const MONDAY_0800 = new Date('2026-11-23T07:00:30Z');
const SUNDAY_0800 = new Date('2026-11-22T07:00:10Z');

beforeAll(async () => {
  smtp = await startFakeSmtp();
  const app = express();
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t = await createTestContext({ SMTP_URL: smtp.url, PUBLIC_URL: publicUrl, EMAIL_FROM: 'Twitterprise <tp@example.test>' });
  mailer = createMailer(t.config, silent);
  createEmailIntegration(t.ctx, mailer).mount!(app);
});

afterEach(async () => {
  // sendDueDigests looks at everyone: keep one test's people out of the next.
  await t.ctx.db.update(sources).set({ digestPeriod: 'off' });
  smtp.received.length = 0;
});

afterAll(async () => {
  mailer?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await smtp?.close();
  await t?.drop();
});

const header = (m: ParsedMail, key: string) => m.headerLines.find((h) => h.key === key)?.line.replace(/\r?\n\s+/g, ' ');

async function deliveriesOf(personId: string) {
  return t.ctx.db.select().from(deliveries).where(eq(deliveries.subscriberId, personId));
}

async function setLastDigest(personId: string, at: Date) {
  await t.ctx.db.update(sources).set({ lastDigestAt: at }).where(eq(sources.id, personId));
}

describe('daily digest', () => {
  it('groups statuses by source, newest first, with links, both parts and unsubscribe headers', async () => {
    const { ctx, clock } = t;
    const alice = await person(ctx, 'alice', { digest: 'daily', at: '08:00' });
    await setLastDigest(alice.id, SUNDAY_0800);
    const build = await service(ctx, 'build', 'Build server');
    const ops = await service(ctx, 'ops', 'Operations');
    const jane = await person(ctx, 'jane');
    const fBuild = await follows(ctx, alice, '@build');
    const fJane = await follows(ctx, alice, '@jane', 'both');
    const fDeploy = await follows(ctx, alice, '#deploy');

    const b41 = await postQueued(ctx, clock, { source: build, text: 'Build 41 green', at: '2026-11-23T05:00:00Z', to: alice, followId: fBuild });
    const j1 = await postQueued(ctx, clock, { source: jane, text: 'Coffee <b>now</b> & cake', at: '2026-11-23T05:30:00Z', to: alice, followId: fJane });
    const o1 = await postQueued(ctx, clock, { source: ops, text: 'Rolling out #deploy 7', at: '2026-11-23T06:00:00Z', to: alice, followId: fDeploy });
    const gone = await postQueued(ctx, clock, { source: build, text: 'Oops wrong channel', at: '2026-11-23T06:10:00Z', to: alice, followId: fBuild });
    const b42 = await postQueued(ctx, clock, { source: build, text: 'Build 42 red\nflaky test', at: '2026-11-23T06:30:00Z', to: alice, followId: fBuild });
    // Arrives after the run's moment: waits for the next digest.
    const late = await postQueued(ctx, clock, { source: build, text: 'Build 43 green', at: '2026-11-23T07:05:00Z', to: alice, followId: fBuild });
    clock.set('2026-11-23T06:20:00Z');
    await deleteStatus(ctx, { id: null, isAdmin: true }, gone.statusId);

    const result = await sendDueDigests(ctx, { now: MONDAY_0800, mailer });
    expect(result.sent).toEqual([expect.objectContaining({ personId: alice.id, periodKey: 'daily:2026-11-23', statusCount: 4 })]);
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.to).toEqual(['alice@example.test']);
    const m = mail.parsed;
    expect(m.subject).toBe('Twitterprise daily digest: 4 statuses from @build, @ops and 1 more');
    expect(m.from?.value[0]?.address).toBe('tp@example.test');

    // Plain text: groups in order of their newest status, statuses newest first, each with its link.
    const text = m.text ?? '';
    const pos = (s: string) => text.indexOf(s);
    expect(pos('@build (Build server)')).toBeGreaterThanOrEqual(0);
    expect(pos('@build (Build server)')).toBeLessThan(pos('@ops (Operations)'));
    expect(pos('@ops (Operations)')).toBeLessThan(pos('@jane (Jane Example)'));
    expect(pos('Build 42 red')).toBeLessThan(pos('Build 41 green'));
    expect(pos('Build 41 green')).toBeLessThan(pos('@ops (Operations)'));
    for (const id of [b41.statusId, j1.statusId, o1.statusId, b42.statusId]) expect(text).toContain(`${publicUrl}/statuses/${id}`);
    expect(text).not.toContain('Oops wrong channel');
    expect(text).not.toContain('Build 43');
    expect(text).toContain('Coffee <b>now</b> & cake');
    expect(text).toContain('You get this because you set `digest daily` and follow @build, @jane and #deploy via email.');
    // Times in the reader's time zone: 06:30Z is 07:30 in Berlin.
    expect(text).toMatch(/Mon 23 Nov,? 07:30: Build 42 red/);

    // HTML: escaped text, real links, the same order.
    const html = typeof m.html === 'string' ? m.html : '';
    expect(html).toContain('Coffee &lt;b&gt;now&lt;/b&gt; &amp; cake');
    expect(html).not.toContain('<b>now</b>');
    expect(html).toContain(`href="${publicUrl}/statuses/${b42.statusId}"`);
    expect(html.indexOf('Build 42 red')).toBeLessThan(html.indexOf('Build 41 green'));
    expect(html).toContain('<code>digest daily</code>');

    // RFC 8058 one-click unsubscribe.
    const token = signUnsubscribeToken((await unsubscribeKeys(t.ctx)).current, alice.id);
    expect(header(m, 'list-unsubscribe')).toBe(`List-Unsubscribe: <${publicUrl}/unsubscribe/${token}>`);
    expect(header(m, 'list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(header(m, 'auto-submitted')).toBe('Auto-Submitted: auto-generated');

    // What happened to each delivery.
    const byId = new Map((await deliveriesOf(alice.id)).map((d) => [d.id, d]));
    for (const d of [b41, j1, o1, b42]) expect(byId.get(d.deliveryId)).toMatchObject({ state: 'sent', sentAt: MONDAY_0800 });
    expect(byId.get(gone.deliveryId)).toMatchObject({ state: 'skipped', reason: 'status deleted' });
    expect(byId.get(late.deliveryId)).toMatchObject({ state: 'queued' });
    const runs = await ctx.db.select().from(digestRuns).where(eq(digestRuns.personId, alice.id));
    expect(runs).toEqual([expect.objectContaining({ periodKey: 'daily:2026-11-23', statusCount: 4 })]);
    const [me] = await ctx.db.select().from(sources).where(eq(sources.id, alice.id));
    expect(me!.lastDigestAt).toEqual(MONDAY_0800);

    // Later the same day: not due, whatever is queued. Next morning: only the new status.
    expect((await sendDueDigests(ctx, { now: new Date('2026-11-23T16:00:00Z'), mailer })).sent).toEqual([]);
    const next = await sendDueDigests(ctx, { now: new Date('2026-11-24T07:00:00Z'), mailer });
    expect(next.sent).toEqual([expect.objectContaining({ periodKey: 'daily:2026-11-24', statusCount: 1 })]);
    expect(smtp.received).toHaveLength(2);
    expect(smtp.received[1]!.parsed.subject).toBe('Twitterprise daily digest: 1 status from @build');
    expect(smtp.received[1]!.parsed.text).toContain('Build 43 green');
    expect(smtp.received[1]!.parsed.text).not.toContain('Build 42');
  });

  it('sends nothing when nothing is new, and a status arriving later waits for the next slot', async () => {
    const { ctx, clock } = t;
    const bob = await person(ctx, 'bob', { digest: 'daily', at: '08:00' });
    await setLastDigest(bob.id, SUNDAY_0800);
    const ci = await service(ctx, 'ci', 'CI');
    const f = await follows(ctx, bob, '@ci');

    const r = await sendDueDigests(ctx, { now: MONDAY_0800, mailer });
    expect(r).toMatchObject({ sent: [], empty: 1, failed: 0 });
    expect(smtp.received).toHaveLength(0);
    expect(await ctx.db.select().from(digestRuns).where(eq(digestRuns.personId, bob.id))).toEqual([
      expect.objectContaining({ periodKey: 'daily:2026-11-23', statusCount: 0 }),
    ]);

    await postQueued(ctx, clock, { source: ci, text: 'Pipeline fixed', at: '2026-11-23T09:00:00Z', to: bob, followId: f });
    expect((await sendDueDigests(ctx, { now: new Date('2026-11-23T09:01:00Z'), mailer })).sent).toEqual([]);
    expect(smtp.received).toHaveLength(0);
    expect((await sendDueDigests(ctx, { now: new Date('2026-11-24T07:00:00Z'), mailer })).sent).toHaveLength(1);
    expect(smtp.received).toHaveLength(1);
  });

  it('leaves out what consent was withdrawn for: unfollowed, switched off, or the person switched off', async () => {
    const { ctx, clock } = t;
    const gina = await person(ctx, 'gina', { digest: 'daily' });
    await setLastDigest(gina.id, SUNDAY_0800);
    const a = await service(ctx, 'alpha', 'Alpha');
    const b = await service(ctx, 'beta', 'Beta');
    const c = await service(ctx, 'gamma', 'Gamma');
    const fa = await follows(ctx, gina, '@alpha');
    const fb = await follows(ctx, gina, '@beta');
    const fc = await follows(ctx, gina, '@gamma');
    const da = await postQueued(ctx, clock, { source: a, text: 'alpha news', at: '2026-11-23T05:00:00Z', to: gina, followId: fa });
    const db = await postQueued(ctx, clock, { source: b, text: 'beta news', at: '2026-11-23T05:10:00Z', to: gina, followId: fb });
    const dc = await postQueued(ctx, clock, { source: c, text: 'gamma news', at: '2026-11-23T05:20:00Z', to: gina, followId: fc });
    await unfollow(ctx, { subscriber: { kind: 'person', id: gina.id }, actor: { id: gina.id }, target: await resolveTarget(ctx, '@alpha'), via: 'slack' });
    await setFollowSwitch(ctx, gina.id, await resolveTarget(ctx, '@beta'), false, 'slack');

    // Switched off altogether: no digest, nothing consumed.
    await ctx.db.update(sources).set({ switchedOff: true }).where(eq(sources.id, gina.id));
    expect((await sendDueDigests(ctx, { now: MONDAY_0800, mailer })).sent).toEqual([]);
    expect((await deliveriesOf(gina.id)).every((d) => d.state === 'queued')).toBe(true);

    await ctx.db.update(sources).set({ switchedOff: false }).where(eq(sources.id, gina.id));
    const r = await sendDueDigests(ctx, { now: MONDAY_0800, mailer });
    expect(r.sent).toEqual([expect.objectContaining({ statusCount: 1 })]);
    expect(smtp.received[0]!.parsed.text).toContain('gamma news');
    expect(smtp.received[0]!.parsed.text).not.toMatch(/alpha news|beta news/);
    const byId = new Map((await deliveriesOf(gina.id)).map((d) => [d.id, d]));
    expect(byId.get(da.deliveryId)).toMatchObject({ state: 'skipped', reason: 'unfollowed' });
    expect(byId.get(db.deliveryId)).toMatchObject({ state: 'skipped', reason: 'switched off' });
    expect(byId.get(dc.deliveryId)).toMatchObject({ state: 'sent' });
  });

  it('keeps everything queued when the SMTP server refuses, and sends on the next run', async () => {
    const { ctx, clock } = t;
    const hank = await person(ctx, 'hank', { digest: 'hourly' });
    await setLastDigest(hank.id, new Date('2026-11-23T06:00:05Z'));
    const s = await service(ctx, 'pager', 'Pager');
    const f = await follows(ctx, hank, '@pager');
    const d = await postQueued(ctx, clock, { source: s, text: 'disk 91%', at: '2026-11-23T06:30:00Z', to: hank, followId: f });

    smtp.failNext(1);
    const failed = await sendDueDigests(ctx, { now: MONDAY_0800, mailer });
    expect(failed).toMatchObject({ sent: [], failed: 1 });
    expect((await deliveriesOf(hank.id))[0]).toMatchObject({ id: d.deliveryId, state: 'queued' });
    expect(await ctx.db.select().from(digestRuns).where(eq(digestRuns.personId, hank.id))).toEqual([]);

    const again = await sendDueDigests(ctx, { now: new Date('2026-11-23T07:01:30Z'), mailer });
    expect(again.sent).toEqual([expect.objectContaining({ periodKey: 'hourly:2026-11-23T07:00', statusCount: 1 })]);
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.parsed.subject).toBe('Twitterprise hourly digest: 1 status from @pager');
  });
});

describe('exactly once', () => {
  let second: Database;
  beforeAll(async () => {
    second = await openDatabase({ databaseUrl: t.database.url, max: 3 });
  });
  afterAll(async () => {
    await second?.close();
  });

  it('two workers on separate connections send one digest', async () => {
    const { ctx, clock } = t;
    const carol = await person(ctx, 'carol', { digest: 'daily' });
    await setLastDigest(carol.id, SUNDAY_0800);
    const s = await service(ctx, 'deploys', 'Deploys');
    const f = await follows(ctx, carol, '@deploys');
    for (let i = 0; i < 3; i++) await postQueued(ctx, clock, { source: s, text: `deploy ${i}`, at: `2026-11-23T05:0${i}:00Z`, to: carol, followId: f });

    const mailerB = createMailer(t.config, silent);
    try {
      const workerB = { ...ctx, db: second.db };
      const [a, b] = await Promise.all([sendDueDigests(ctx, { now: MONDAY_0800, mailer }), sendDueDigests(workerB, { now: MONDAY_0800, mailer: mailerB })]);
      expect(a.sent.length + b.sent.length).toBe(1);
      expect(a.failed + b.failed).toBe(0);
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]!.parsed.subject).toBe('Twitterprise daily digest: 3 statuses from @deploys');

      // Two forced runs at the same moment: still one mail, and never the same statuses twice.
      for (let i = 3; i < 5; i++) await postQueued(ctx, clock, { source: s, text: `deploy ${i}`, at: `2026-11-23T08:0${i}:00Z`, to: carol, followId: f });
      const now = new Date('2026-11-23T09:00:00Z');
      const [c, d] = await Promise.all([sendDueDigests(ctx, { now, force: true, mailer }), sendDueDigests(workerB, { now, force: true, mailer: mailerB })]);
      expect(c.sent.length + d.sent.length).toBe(1);
      expect(smtp.received).toHaveLength(2);
      expect(smtp.received[1]!.parsed.text).toContain('deploy 4');
      expect(smtp.received[1]!.parsed.text).not.toContain('deploy 0');
    } finally {
      mailerB.close();
    }
    expect((await deliveriesOf(carol.id)).every((d) => d.state === 'sent')).toBe(true);
  });
});

describe('digests send (force)', () => {
  it('sends what has content now, ignoring the schedule, and never the same statuses twice', async () => {
    const { ctx, clock } = t;
    const dave = await person(ctx, 'dave', { digest: 'weekly' });
    const eve = await person(ctx, 'eve', { digest: 'daily' });
    await setLastDigest(dave.id, new Date('2026-11-23T07:00:00Z'));
    await setLastDigest(eve.id, new Date('2026-11-23T07:00:00Z'));
    const s = await service(ctx, 'infra', 'Infra');
    const f = await follows(ctx, dave, '@infra');
    await postQueued(ctx, clock, { source: s, text: 'maintenance tonight', at: '2026-11-23T10:00:00Z', to: dave, followId: f });
    const now = new Date('2026-11-23T11:00:00Z');

    expect((await sendDueDigests(ctx, { now, mailer })).sent).toEqual([]);
    // As the HTTP API and the CLI call it: no mailer given, one is made from the config (SMTP_URL).
    const forced = await sendDueDigests(ctx, { now, force: true });
    expect(forced.sent).toEqual([expect.objectContaining({ personId: dave.id, periodKey: `manual:${now.toISOString()}`, statusCount: 1 })]);
    expect(forced.empty).toBe(1); // eve: nothing queued, nothing sent
    expect(smtp.received.map((m) => m.to[0])).toEqual(['dave@example.test']);
    expect(smtp.received[0]!.parsed.subject).toBe('Twitterprise weekly digest: 1 status from @infra');

    const again = await sendDueDigests(ctx, { now: new Date('2026-11-23T11:05:00Z'), force: true, mailer });
    expect(again.sent).toEqual([]);
    expect(smtp.received).toHaveLength(1);
    // Empty manual runs leave no claim behind.
    expect(await ctx.db.select().from(digestRuns).where(eq(digestRuns.personId, eve.id))).toEqual([]);
  });

  it('caps the statuses listed and says how to get the rest', async () => {
    const { ctx, clock } = t;
    const ivy = await person(ctx, 'ivy', { digest: 'daily' });
    const s = await service(ctx, 'metrics', 'Metrics');
    const f = await follows(ctx, ivy, '@metrics');
    for (let i = 0; i < 5; i++) await postQueued(ctx, clock, { source: s, text: `metric ${i}`, at: `2026-11-23T05:0${i}:00Z`, to: ivy, followId: f });
    const r = await sendDueDigests(ctx, { now: MONDAY_0800, force: true, mailer, maxShown: 3 });
    expect(r.sent).toEqual([expect.objectContaining({ statusCount: 5 })]);
    const text = smtp.received[0]!.parsed.text ?? '';
    expect(text).toContain('metric 4');
    expect(text).toContain('metric 2');
    expect(text).not.toContain('metric 1');
    expect(text).toContain('…and 2 more statuses: send "catchup 1d" to Twitterprise in Slack or Teams to get every one in one message.');
    expect(smtp.received[0]!.parsed.html).toContain('…and 2 more statuses: send &quot;catchup 1d&quot; to Twitterprise');
    expect((await deliveriesOf(ivy.id)).every((d) => d.state === 'sent')).toBe(true);
  });
});

describe('one-click unsubscribe', () => {
  it('GET only confirms; POST with the token from the mail turns the digest off and records consent', async () => {
    const { ctx, clock } = t;
    const erin = await person(ctx, 'erin', { digest: 'daily' });
    const s = await service(ctx, 'news', 'News');
    const f = await follows(ctx, erin, '@news');
    await postQueued(ctx, clock, { source: s, text: 'hello', at: '2026-11-23T05:00:00Z', to: erin, followId: f });
    await sendDueDigests(ctx, { now: MONDAY_0800, mailer });
    const line = header(smtp.received[0]!.parsed, 'list-unsubscribe') ?? '';
    const url = /<(http[^>]+)>/.exec(line)?.[1];
    expect(url).toMatch(new RegExp(`^${publicUrl}/unsubscribe/`));

    const page = await fetch(url!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post">');
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    const [still] = await ctx.db.select().from(sources).where(eq(sources.id, erin.id));
    expect(still!.digestPeriod).toBe('daily');

    clock.set('2026-11-23T12:00:00Z');
    // What a mail client sends for RFC 8058: no cookies, just this body.
    const post = () => fetch(url!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('is off');
    const [after] = await ctx.db.select().from(sources).where(eq(sources.id, erin.id));
    expect(after!.digestPeriod).toBe('off');
    const consent = await ctx.db.select().from(consentLog).where(and(eq(consentLog.subjectId, erin.id), eq(consentLog.action, 'unsubscribe')));
    expect(consent).toEqual([
      expect.objectContaining({ actorId: null, object: 'digest', via: 'email', at: new Date('2026-11-23T12:00:00Z'), detail: { previous: 'daily', oneClick: true } }),
    ]);

    // A second click changes nothing and records nothing more.
    expect((await post()).status).toBe(200);
    expect(await ctx.db.select().from(consentLog).where(and(eq(consentLog.subjectId, erin.id), eq(consentLog.action, 'unsubscribe')))).toHaveLength(1);
  });

  it('refuses a tampered or foreign token with a clear page and changes nothing', async () => {
    const { ctx } = t;
    const finn = await person(ctx, 'finn', { digest: 'daily' });
    const good = signUnsubscribeToken((await unsubscribeKeys(ctx)).current, finn.id);
    const tampered = good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA');
    const forged = signUnsubscribeToken('not-the-server-secret', finn.id);
    for (const token of [tampered, forged, 'nonsense']) {
      const get = await fetch(`${publicUrl}/unsubscribe/${token}`);
      expect(get.status).toBe(403);
      expect(await get.text()).toContain('This unsubscribe link is not valid');
      const post = await fetch(`${publicUrl}/unsubscribe/${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(post.status).toBe(403);
    }
    const [row] = await ctx.db.select().from(sources).where(eq(sources.id, finn.id));
    expect(row!.digestPeriod).toBe('daily');
    expect(await ctx.db.select().from(consentLog).where(and(eq(consentLog.subjectId, finn.id), eq(consentLog.action, 'unsubscribe')))).toEqual([]);

    // Well signed, but for nobody we know.
    const ghost = await fetch(`${publicUrl}/unsubscribe/${signUnsubscribeToken((await unsubscribeKeys(ctx)).current, '019b0000-0000-7000-8000-000000000000')}`);
    expect(ghost.status).toBe(404);
  });
});

describe('without SMTP_URL', () => {
  it('writes each digest as an .eml file into the outbox folder (creating it)', async () => {
    const { ctx, clock } = t;
    const root = await mkdtemp(path.join(tmpdir(), 'tp-outbox-'));
    const outboxDir = path.join(root, 'data', 'outbox');
    const fileMailer = createMailer({ email: { smtpUrl: undefined, from: 'Twitterprise <noreply@localhost>', outboxDir } }, silent);
    try {
      expect(fileMailer.kind).toBe('outbox');
      const kim = await person(ctx, 'kim', { digest: 'daily' });
      const s = await service(ctx, 'hr', 'HR');
      const f = await follows(ctx, kim, '@hr');
      await postQueued(ctx, clock, { source: s, text: 'Payslips are out', at: '2026-11-23T05:00:00Z', to: kim, followId: f });
      const r = await sendDueDigests(ctx, { now: MONDAY_0800, mailer: fileMailer });
      expect(r.sent).toHaveLength(1);
      expect(smtp.received).toHaveLength(0);
      const files = await readdir(outboxDir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/\.eml$/);
      const raw = await readFile(path.join(outboxDir, files[0]!));
      expect(raw.includes('\r\n')).toBe(true);
      const parsed = await simpleParser(raw);
      expect(parsed.subject).toBe('Twitterprise daily digest: 1 status from @hr');
      expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]?.address : undefined).toBe('kim@example.test');
      expect(parsed.text).toContain('Payslips are out');
      expect(header(parsed, 'list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    } finally {
      fileMailer.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
