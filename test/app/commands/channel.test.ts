import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getChannel, upsertChannel } from '../../../src/app/channels.js';
import { createService } from '../../../src/app/services.js';
import { CHANNEL_USAGE } from '../../../src/core/commands/usage.js';
import { follows } from '../../../src/db/schema.js';
import { createTestContext, type TestContext } from '../../helpers/context.js';
import { fresh, person, reply, say } from './helpers.js';

let t: TestContext;
let channelId: string;
beforeAll(async () => {
  t = await createTestContext();
  for (const n of ['Ola', 'Per', 'Sam']) await person(t, n);
  await createService(t.ctx, { handle: 'build', name: 'Build server', owners: ['ola'] });
  await createService(t.ctx, { handle: 'payroll', name: 'Payroll', visibility: 'protected', owners: ['ola'] });
  channelId = (await upsertChannel(t.ctx, { platform: 'slack', tenant: 'T1', externalId: 'C100', name: 'ops' })).id;
});
afterAll(() => t.drop());

const channelFollows = () => t.database.db.select().from(follows).where(and(eq(follows.subscriberKind, 'channel'), eq(follows.subscriberId, channelId)));

describe('channel commands outside a channel', () => {
  it.each([
    ['channel follow @build', 'follow'],
    ['channel unfollow @build', 'unfollow'],
    ['channel list', 'list'],
    ['channel publish @build', 'publish'],
    ['channel unpublish', 'unpublish'],
  ] as const)('%s says where to run it', async (text, action) => {
    expect(await reply(t, 'per', text)).toBe(
      `"channel ${action}" works only in a channel: run it there (in Slack with /tp in the channel, in Teams by mentioning Twitterprise in the channel). Try: ${CHANNEL_USAGE[action]}`,
    );
  });
});

describe('channel follow, list, unfollow', () => {
  it('the channel follows a source; every status is posted there', async () => {
    expect(await reply(t, 'per', 'channel follow @Build', { channelId })).toBe('This channel now follows @build: its statuses will be posted here.');
    const build = await fresh(t, 'build');
    expect((await channelFollows()).map((f) => [f.targetKind, f.target, f.route, f.state])).toEqual([['source', build.id, 'channel', 'active']]);
    expect(await reply(t, 'sam', 'channel follow @build', { channelId })).toBe('This channel already follows @build.');
  });

  it('a protected source gets a request, not a follow', async () => {
    expect(await reply(t, 'per', 'channel follow @payroll', { channelId })).toBe('@payroll is protected: a request for this channel to follow it was sent to its owners.');
    const payroll = await fresh(t, 'payroll');
    expect((await channelFollows()).find((f) => f.target === payroll.id)?.state).toBe('pending');
    expect((await say(t, 'ola', 'requests')).lines).toEqual(['the Slack channel "ops" asks to follow @payroll: decide with the buttons in your DM']);
  });

  it('channel list shows what the channel follows', async () => {
    expect(await say(t, 'sam', 'channel list', { channelId })).toMatchObject({
      title: 'This channel follows:',
      lines: ['@build', '@payroll (waiting for approval)'],
    });
  });

  it('channel unfollow stops it', async () => {
    expect(await reply(t, 'sam', 'channel unfollow @payroll', { channelId })).toBe('This channel no longer follows @payroll.');
    expect(await reply(t, 'sam', 'channel unfollow @payroll', { channelId })).toBe(`This channel does not follow @payroll. Try: ${CHANNEL_USAGE.list}`);
    expect((await channelFollows()).map((f) => f.target)).toEqual([(await fresh(t, 'build')).id]);
  });
});

describe('channel publish and unpublish', () => {
  it('only an owner of the service binds a channel to it', async () => {
    expect(await reply(t, 'per', 'channel publish @build', { channelId })).toBe('You are not an owner of @build, so this channel cannot publish as it.');
    expect(await reply(t, 'ola', 'channel publish @per', { channelId })).toBe('@per is a person; a channel publishes as a service. Try: channel publish @service');
    expect((await getChannel(t.ctx, channelId))?.publishServiceId).toBeNull();
    expect(await reply(t, 'ola', 'channel publish @build', { channelId })).toBe('New top-level messages in this channel are now published as @build.');
    const ch = await getChannel(t.ctx, channelId);
    expect(ch).toMatchObject({ publishServiceId: (await fresh(t, 'build')).id, publishedBy: (await fresh(t, 'ola')).id });
    expect((await say(t, 'per', 'channel list', { channelId })).lines).toEqual(['@build', 'New top-level messages here are published as @build.']);
  });

  it('unpublish by someone else is refused; by the owner it works; twice says there is nothing to undo', async () => {
    expect(await reply(t, 'per', 'channel unpublish', { channelId })).toBe('Only an owner of the service (or whoever bound the channel) can unpublish it.');
    expect(await reply(t, 'ola', 'channel unpublish', { channelId })).toBe('Messages in this channel are no longer published as a status.');
    expect((await getChannel(t.ctx, channelId))?.publishServiceId).toBeNull();
    expect(await reply(t, 'ola', 'channel unpublish', { channelId })).toBe('This channel does not publish as any service. Try: channel publish @service');
  });
});
