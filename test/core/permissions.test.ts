import { describe, expect, it } from 'vitest';
import {
  canActAs,
  canDecideRequest,
  canDirectMessage,
  canView,
  decideDelivery,
  decideFollow,
  noViewer,
  type DeliveryFacts,
} from '../../src/core/permissions.js';

describe('canView', () => {
  const cases: [string, Parameters<typeof canView>[0], Partial<typeof noViewer>, boolean][] = [
    ['anyone reads a public source', 'public', {}, true],
    ['a blocked person does not read a public source', 'public', { blocked: true }, false],
    ['a stranger does not read a protected source', 'protected', {}, false],
    ['a pending follower does not read a protected source', 'protected', { followState: 'pending' }, false],
    ['an approved follower reads a protected source', 'protected', { followState: 'active' }, true],
    ['an approved follower who switched the follow off still reads', 'protected', { followState: 'off' }, true],
    ['an owner reads a protected source', 'protected', { isOwner: true }, true],
    ['an admin reads a protected source', 'protected', { isAdmin: true }, true],
    ['a blocked approved follower does not read a protected source', 'protected', { followState: 'active', blocked: true }, false],
  ];
  it.each(cases)('%s', (_name, vis, facts, expected) => {
    expect(canView(vis, { ...noViewer, ...facts })).toBe(expected);
  });
});

describe('decideFollow', () => {
  it.each([
    ['public source: active at once', 'public', {}, 'active'],
    ['protected source: pending approval', 'protected', {}, 'pending'],
    ['protected source, owner following: active', 'protected', { isOwner: true }, 'active'],
    ['protected source, already approved: stays active', 'protected', { followState: 'active' }, 'active'],
    ['blocked: refused even when public', 'public', { blocked: true }, 'refused'],
  ] as const)('%s', (_n, vis, facts, expected) => {
    expect(decideFollow(vis, { ...noViewer, ...facts })).toBe(expected);
  });
});

describe('decideDelivery', () => {
  const base: DeliveryFacts = {
    visibility: 'public',
    followState: 'active',
    sourceFollowState: null,
    isOwner: false,
    blocked: false,
    switchedOff: false,
  };
  it.each([
    ['public, active follow: deliver', {}, true, undefined],
    ['pending follow: not delivered', { followState: 'pending' }, false, 'follow pending'],
    ['follow switched off: skipped', { followState: 'off' }, false, 'follow off'],
    ['person switched off: skipped', { switchedOff: true }, false, 'switched off'],
    ['protected source, tag follow without approval: not permitted', { visibility: 'protected' }, false, 'not permitted'],
    ['protected source, approved follower: deliver', { visibility: 'protected', sourceFollowState: 'active' }, true, undefined],
    ['protected source, pending follower: not permitted', { visibility: 'protected', sourceFollowState: 'pending' }, false, 'not permitted'],
    ['protected source, owner: deliver', { visibility: 'protected', isOwner: true }, true, undefined],
    ['blocked: never', { blocked: true, sourceFollowState: 'active' }, false, 'blocked'],
  ] as const)('%s', (_n, facts, deliver, reason) => {
    const d = decideDelivery({ ...base, ...facts });
    expect(d.deliver).toBe(deliver);
    if (!d.deliver) expect(d.reason).toBe(reason);
  });
});

describe('request, acting and direct-message rules', () => {
  it('a requester may not approve their own follow request', () => {
    expect(canDecideRequest({ isOwner: true, isAdmin: false, isRequester: true })).toBe(false);
    expect(canDecideRequest({ isOwner: true, isAdmin: false, isRequester: false })).toBe(true);
    expect(canDecideRequest({ isOwner: false, isAdmin: false, isRequester: false })).toBe(false);
    expect(canDecideRequest({ isOwner: false, isAdmin: true, isRequester: false })).toBe(true);
  });
  it('only the source, its owners or an admin act as a source', () => {
    expect(canActAs({ isSelf: false, isOwner: false, isAdmin: false })).toBe(false);
    expect(canActAs({ isSelf: false, isOwner: true, isAdmin: false })).toBe(true);
    expect(canActAs({ isSelf: true, isOwner: false, isAdmin: false })).toBe(true);
  });
  it('direct messages need a mutual follow unless the sender is an admin', () => {
    expect(canDirectMessage({ senderFollowsRecipient: true, recipientFollowsSender: false, senderIsAdmin: false })).toBe(false);
    expect(canDirectMessage({ senderFollowsRecipient: true, recipientFollowsSender: true, senderIsAdmin: false })).toBe(true);
    expect(canDirectMessage({ senderFollowsRecipient: false, recipientFollowsSender: false, senderIsAdmin: true })).toBe(true);
  });
});
