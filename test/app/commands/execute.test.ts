import { Writable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCommand, SORRY } from '../../../src/app/commands/execute.js';
import { follow, resolveTarget } from '../../../src/app/follows.js';
import { createService } from '../../../src/app/services.js';
import { authenticate, hashToken } from '../../../src/app/tokens.js';
import { COMMAND_NAMES, USAGE } from '../../../src/core/commands/usage.js';
import { outbox, sources, statuses, tokens } from '../../../src/db/schema.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { fresh, person, reply, say } from './helpers.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
  await person(t, 'Olga');
  await person(t, 'Pete');
  await person(t, 'Dora');
  await person(t, 'Dirk');
  await person(t, 'Root', { admin: true });
  await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['olga'] });
});
afterAll(() => t.drop());

describe('mistakes come back as a sentence with the right usage', () => {
  it('a grammar mistake names it and shows the usage', async () => {
    expect(await reply(t, 'olga', 'follow')).toBe(`"follow" needs a @handle or #tag. Try: ${USAGE.follow.usage}`);
    expect(await reply(t, 'olga', 'post')).toBe(`A status needs some text (1 to 1,000 characters). Try: ${USAGE.post.usage}`);
    expect(await reply(t, 'olga', 'quiet 25:00-07:00')).toContain(`Try: ${USAGE.quiet.usage}`);
  });

  it('an unknown handle says what to try', async () => {
    expect(await reply(t, 'olga', 'whois @nobody')).toBe('@nobody is not a known handle. Try: whois @handle');
    expect(await reply(t, 'olga', 'follow @nobody')).toBe('@nobody is not a known handle. Try: whois @handle');
    expect(await reply(t, 'olga', 'get @Nobody')).toBe('@nobody is not a known handle. Try: whois @handle');
  });

  it('an unexpected failure is logged without the text and answered with an apology, never a stack', async () => {
    const other = await createTestContext();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const actor = await person(other, 'Gone');
    await other.drop(); // the database is gone: every query fails
    const ctx = { ...other.ctx, log: pino({ level: 'error' }, sink) };
    const r = await executeCommand(ctx, { actor, platform: 'teams', text: 'secret plans for friday' });
    expect(r).toEqual({ text: SORRY });
    expect(SORRY).toBe('Something went wrong on our side; it has been logged. Please try again.');
    const logged = lines.join('');
    expect(logged).toContain('chat command failed');
    expect(logged).toContain('"command":"post"');
    expect(logged).not.toContain('secret plans');
  });
});

describe('help', () => {
  it('lists every command', async () => {
    const r = await say(t, 'olga', 'help');
    expect(r.title).toBe('Twitterprise commands');
    for (const n of COMMAND_NAMES) expect(r.text).toContain(USAGE[n].usage);
  });

  it('explains one command, and refuses an unknown one', async () => {
    const r = await say(t, 'olga', 'Help Leave');
    expect(r.title).toBe(`Usage: ${USAGE.unfollow.usage}`);
    expect(r.text).toContain('Also: leave');
    expect(await reply(t, 'olga', 'help fly')).toBe(`"fly" is not a command; "help" lists them all. Try: ${USAGE.help.usage}`);
  });
});

describe('post and as', () => {
  it('text that is not a command is posted as the person, from their platform, newlines kept', async () => {
    const olga = await fresh(t, 'olga');
    const r = await reply(t, 'olga', '  Deploying api v2\nthen web  ', { platform: 'teams' });
    expect(r).toMatch(/^Posted: http:\/\/127\.0\.0\.1:3000\/statuses\/.+/);
    const rows = await t.database.db.select().from(statuses).where(eq(statuses.sourceId, olga.id));
    expect(rows.map((s) => [s.text, s.platform, s.authorId])).toEqual([['Deploying api v2\nthen web', 'teams', olga.id]]);
    expect(await reply(t, 'olga', 'post on my way')).toMatch(/^Posted: /);
    const again = await t.database.db.select().from(statuses).where(eq(statuses.sourceId, olga.id));
    expect(again.map((s) => s.text)).toContain('on my way');
  });

  it('an over-long status says how long it was, and posts nothing', async () => {
    const before = await t.database.db.select().from(statuses);
    expect(await reply(t, 'pete', 'x'.repeat(1234))).toBe('A status is at most 1,000 characters; this one has 1,234. Try: post <text>');
    expect(await t.database.db.select().from(statuses)).toHaveLength(before.length);
  });

  it('an owner posts as the service; the status remembers who wrote it', async () => {
    const olga = await fresh(t, 'olga');
    const build = await fresh(t, 'build');
    expect(await reply(t, 'olga', 'as @Build Deploy #42 done')).toMatch(/^Posted as @build: http/);
    const rows = await t.database.db.select().from(statuses).where(eq(statuses.sourceId, build.id));
    expect(rows.map((s) => [s.text, s.authorId])).toEqual([['Deploy #42 done', olga.id]]);
  });

  it('a non-owner may not post as a service, nor anyone as another person', async () => {
    const build = await fresh(t, 'build');
    expect(await reply(t, 'pete', 'as @build I am not the build server')).toBe('You are not an owner of @build.');
    expect(await reply(t, 'pete', 'as @olga hello')).toBe(`@olga is a person; "as" posts as a service you own. Try: ${USAGE.as.usage}`);
    const rows = await t.database.db.select().from(statuses).where(eq(statuses.sourceId, build.id));
    expect(rows).toHaveLength(1);
  });
});

describe('d @handle', () => {
  const directs = async () =>
    (await t.database.db.select().from(outbox).where(eq(outbox.event, 'notice'))).filter(
      (r) => (r.payload.message as { kind: string }).kind === 'direct',
    );

  it('needs a mutual follow', async () => {
    expect(await reply(t, 'dora', 'd @dirk lunch?')).toBe('You and @dirk must follow each other to exchange direct messages. Try: follow @dirk');
    const dora = await fresh(t, 'dora');
    const dirk = await fresh(t, 'dirk');
    await follow(t.ctx, { subscriber: { kind: 'person', id: dora.id }, actor: dora, target: await resolveTarget(t.ctx, '@dirk'), route: 'dm', via: 'slack' });
    expect(await reply(t, 'dora', 'd @dirk lunch?')).toContain('must follow each other');
    expect(await directs()).toHaveLength(0);

    await follow(t.ctx, { subscriber: { kind: 'person', id: dirk.id }, actor: dirk, target: await resolveTarget(t.ctx, '@dora'), route: 'dm', via: 'slack' });
    const kicks = t.kicks;
    expect(await reply(t, 'dora', 'D @Dirk lunch at 12?\nusual place')).toBe('Sent to @dirk.');
    expect(t.kicks).toBe(kicks + 1);
    const [row] = await directs();
    expect(row!.payload).toEqual({ personId: dirk.id, message: { kind: 'direct', from: { handle: 'dora', name: 'Dora' }, text: 'lunch at 12?\nusual place' } });
  });

  it("says so when the recipient switched off (nothing is sent) or is in quiet hours (it waits)", async () => {
    const pete = await fresh(t, 'pete');
    await t.database.db.update(sources).set({ switchedOff: true }).where(eq(sources.id, pete.id));
    const before = (await directs()).length;
    expect(await reply(t, 'root', 'd @pete are you there?')).toBe('@pete has switched deliveries off, so nothing reaches them until they switch on again.');
    expect(await directs()).toHaveLength(before);
    // The test clock stands at 10:00 UTC; Pete is in UTC.
    await t.database.db.update(sources).set({ switchedOff: false, quietStart: '09:00', quietEnd: '11:00' }).where(eq(sources.id, pete.id));
    expect(await reply(t, 'root', 'd @pete later then')).toBe('Sent to @pete; they are in quiet hours, so it reaches them when those end.');
    expect(await directs()).toHaveLength(before + 1);
    await t.database.db.update(sources).set({ quietStart: null, quietEnd: null }).where(eq(sources.id, pete.id));
  });

  it('an admin may write to anyone; nobody writes to a service or to themselves', async () => {
    expect(await reply(t, 'root', 'd @pete please update your laptop')).toBe('Sent to @pete.');
    expect(await reply(t, 'root', 'd @build hi')).toBe(`@build is a service; direct messages go to people. Try: ${USAGE.d.usage}`);
    expect(await reply(t, 'root', 'd @root hi')).toBe(`That is you; a direct message goes to someone else. Try: ${USAGE.d.usage}`);
  });
});

describe('token', () => {
  it('is shown once, works as a bearer token, and only its hash is stored', async () => {
    const pete = await fresh(t, 'pete');
    const first = await reply(t, 'pete', 'token');
    const secret = /(tp_[A-Za-z0-9_-]+)/.exec(first)?.[1];
    expect(first).toContain('shown only this once');
    expect(secret).toBeDefined();
    const p = await authenticate(t.ctx, secret);
    expect(p.kind === 'source' && p.source.id).toBe(pete.id);
    const rows = await t.database.db.select().from(tokens).where(and(eq(tokens.sourceId, pete.id), eq(tokens.kind, 'api')));
    expect(rows.map((r) => r.hash)).toEqual([hashToken(secret!)]);
    expect(JSON.stringify(rows)).not.toContain(secret);
    // Asking again mints a new one; the first is never shown again.
    const second = await reply(t, 'pete', 'TOKEN');
    expect(second).not.toContain(secret);
    expect(await t.database.db.select().from(tokens).where(eq(tokens.sourceId, pete.id))).toHaveLength(2);
  });
});
