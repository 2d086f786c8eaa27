import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkIdentity } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { postStatus } from '../../../src/app/statuses.js';
import { USAGE } from '../../../src/core/commands/usage.js';
import type { OutboundMessage } from '../../../src/core/messages.js';
import { consentLog, follows, outbox } from '../../../src/db/schema.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { fresh, person, reply } from './helpers.js';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
  for (const n of ['Kim', 'Lou', 'Max']) await person(t, n);
  await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['lou'] });
  await createService(t.ctx, { handle: 'ci', name: 'CI', owners: ['lou'] });
});
afterAll(() => t.drop());

const summaries = async (personId: string) =>
  (await t.database.db.select().from(outbox).where(eq(outbox.event, 'notice')))
    .map((r) => r.payload as { personId: string; message: OutboundMessage })
    .filter((p) => p.personId === personId && p.message.kind === 'summary')
    .map((p) => p.message as Extract<OutboundMessage, { kind: 'summary' }>);

describe('on and off', () => {
  it('off silences everything; on turns it back on; both are in the consent record', async () => {
    expect(await reply(t, 'kim', 'OFF')).toBe('All your deliveries are off. Nothing is lost: "catchup" lists what you missed, and "on" turns them back on.');
    const off = await fresh(t, 'kim');
    expect(off.switchedOff).toBe(true);
    expect(off.switchedOffAt?.toISOString()).toBe(t.clock.now().toISOString());
    expect(await reply(t, 'kim', 'on')).toBe('Your deliveries are on again. "catchup" lists what you missed while they were off.');
    expect((await fresh(t, 'kim')).switchedOff).toBe(false);
    const log = await t.database.db.select().from(consentLog).where(eq(consentLog.subjectId, off.id));
    expect(log.map((c) => [c.action, c.object])).toEqual([
      ['off', 'all'],
      ['on', 'all'],
    ]);
  });

  it('off @handle and on @handle switch one follow', async () => {
    expect(await reply(t, 'kim', 'off @build')).toBe('You do not follow @build. Try: follow @build');
    await reply(t, 'kim', 'follow @build');
    expect(await reply(t, 'kim', 'off @Build')).toBe('Deliveries from @build are off. "on @build" turns them back on.');
    const kim = await fresh(t, 'kim');
    const [f] = await t.database.db.select().from(follows).where(eq(follows.subscriberId, kim.id));
    expect(f!.state).toBe('off');
    await reply(t, 'kim', 'off');
    expect(await reply(t, 'kim', 'on @build')).toBe('Deliveries from @build are on again. All your deliveries are still off, though: "on" turns them on.');
    await reply(t, 'kim', 'on');
    expect(await reply(t, 'kim', 'off @build')).toContain('are off');
    expect(await reply(t, 'kim', 'on @build')).toBe('Deliveries from @build are on again.');
  });
});

describe('catchup', () => {
  it('without a period it needs to have been switched off', async () => {
    expect(await reply(t, 'max', 'catchup')).toBe(`You have not switched off, so say how far back to catch up. Try: ${USAGE.catchup.usage}`);
  });

  it('sends one DM listing what the follows posted since switching off', async () => {
    const max = await fresh(t, 'max');
    const build = await fresh(t, 'build');
    const ci = await fresh(t, 'ci');
    await reply(t, 'max', 'follow @build');
    await postStatus(t.ctx, { sourceId: build.id, text: 'before off', platform: 'api' });
    t.clock.advance(60_000);
    await reply(t, 'max', 'off');
    t.clock.advance(60_000);
    await postStatus(t.ctx, { sourceId: build.id, text: 'while off 1', platform: 'api' });
    await postStatus(t.ctx, { sourceId: ci.id, text: 'not followed', platform: 'api' });
    t.clock.advance(60_000);
    await postStatus(t.ctx, { sourceId: build.id, text: 'while off 2', platform: 'api' });
    const kicks = t.kicks;
    expect(await reply(t, 'max', 'catchup')).toBe('Catching up: a DM with 2 statuses posted since you switched off (2026-11-23 10:01 UTC) is on its way.');
    expect(t.kicks).toBe(kicks + 1);
    const [s] = await summaries(max.id);
    expect(s!.title).toBe('Catch-up: what you follow posted since you switched off (2026-11-23 10:01 UTC)');
    expect(s!.items.map((i) => i.text)).toEqual(['while off 2', 'while off 1']);
    expect(s!.more).toBe(0);
  });

  it('with a period it reaches back that far, and says when there is nothing', async () => {
    const max = await fresh(t, 'max');
    t.clock.advance(2 * 3600_000);
    expect(await reply(t, 'max', 'catchup 30m')).toBe('Nothing new from what you follow in the last 30m.');
    expect(await reply(t, 'max', 'catchup 4h')).toBe('Catching up: a DM with 3 statuses posted in the last 4h is on its way.');
    expect(await summaries(max.id)).toHaveLength(2);
  });
});

describe('settings', () => {
  it('quiet 22:00-07:00 sets quiet hours in the person\'s time zone; quiet off clears them', async () => {
    await linkIdentity(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'U-lou', email: 'lou@corp.example', name: 'Lou', timezone: 'Europe/Berlin' });
    expect(await reply(t, 'lou', 'quiet 22:00-07:00')).toBe('Quiet hours: 22:00-07:00 (Europe/Berlin). DMs that arrive then wait until 07:00 and come as one message.');
    expect(await fresh(t, 'lou')).toMatchObject({ quietStart: '22:00', quietEnd: '07:00', quietToDigest: false });
    expect(await reply(t, 'lou', 'quiet 22:00-07:00 to digest')).toMatch(/go into your email digest, which is off/);
    expect(await fresh(t, 'lou')).toMatchObject({ quietStart: '22:00', quietEnd: '07:00', quietToDigest: true });
    expect(await reply(t, 'lou', 'quiet off')).toBe('Quiet hours are off.');
    expect(await fresh(t, 'lou')).toMatchObject({ quietStart: null, quietEnd: null });
  });

  it('digest daily at 08:00, weekly, hourly and off', async () => {
    expect(await reply(t, 'lou', 'digest daily at 08:00')).toBe(
      'Your email digest: daily at 08:00 (Europe/Berlin), to lou@corp.example. Nothing is routed to it yet: "follow @handle via email" (or via both) adds to it.',
    );
    expect(await fresh(t, 'lou')).toMatchObject({ digestPeriod: 'daily', digestAt: '08:00' });
    await reply(t, 'lou', 'follow @kim via email');
    expect(await reply(t, 'lou', 'digest weekly at 7:30')).toBe('Your email digest: weekly on Mondays at 07:30 (Europe/Berlin), to lou@corp.example.');
    expect(await reply(t, 'lou', 'digest hourly')).toBe('Your email digest: every hour at :30, to lou@corp.example.');
    expect(await reply(t, 'lou', 'digest off')).toBe('Your email digest is off.');
    expect((await fresh(t, 'lou')).digestPeriod).toBe('off');
  });

  it('a person without an email address cannot have a digest', async () => {
    const anon = await linkIdentity(t.ctx, { platform: 'teams', tenant: 'tn', externalId: 'aad-x', name: 'No Mail' });
    expect(await reply(t, anon.handle, 'digest daily')).toBe(`A digest goes by email, and we have no email address for you. Try: ${USAGE.digest.usage}`);
    expect(await reply(t, anon.handle, 'digest off')).toBe('Your email digest is off.');
  });

  it('dm slack|teams|both sets where DMs go, and says when a platform is not linked', async () => {
    expect(await reply(t, 'lou', 'dm slack')).toBe('Your DMs now go to Slack.');
    expect((await fresh(t, 'lou')).dmPreference).toBe('slack');
    expect(await reply(t, 'lou', 'dm both')).toBe(
      'Your DMs now go to both Slack and Teams. You have not used Twitterprise on Teams yet; until you do, DMs go where you are.',
    );
    expect((await fresh(t, 'lou')).dmPreference).toBe('both');
  });
});
