import type { FollowState, Visibility } from './types.js';

/**
 * Every permission rule in one place, as pure functions over facts the caller gathered.
 * Tested as a table of cases in test/core/permissions.test.ts.
 */
export interface ViewerFacts {
  /** The viewer is the source itself or one of its owners. */
  isOwner: boolean;
  isAdmin: boolean;
  /** The viewer's follow of the source, if any. */
  followState: FollowState | null;
  /** The source blocked the viewer. */
  blocked: boolean;
}

export const noViewer: ViewerFacts = { isOwner: false, isAdmin: false, followState: null, blocked: false };

/** May this viewer read the source's statuses (timeline, feed, `get`)? */
export function canView(visibility: Visibility, v: ViewerFacts): boolean {
  if (v.isOwner || v.isAdmin) return true;
  if (visibility === 'public') return !v.blocked;
  // Protected: approved followers only. A follow switched `off` is still approved.
  return !v.blocked && (v.followState === 'active' || v.followState === 'off');
}

export type FollowDecision = 'active' | 'pending' | 'refused';

/** What happens when someone asks to follow a source. */
export function decideFollow(visibility: Visibility, v: Omit<ViewerFacts, 'followState'> & { followState?: FollowState | null }): FollowDecision {
  if (v.blocked) return 'refused';
  if (v.isOwner || visibility === 'public') return 'active';
  // Re-following an already approved protected source keeps the approval.
  if (v.followState === 'active' || v.followState === 'off') return 'active';
  return 'pending';
}

/**
 * May a status of this source be delivered to this subscriber through this follow?
 * Tags and tracked words reach only public sources' statuses, or protected ones the subscriber was approved for.
 */
export interface DeliveryFacts {
  visibility: Visibility;
  /** State of the follow being delivered through. */
  followState: FollowState;
  /** For tag/word follows of a protected source: the subscriber's own follow of that source. */
  sourceFollowState: FollowState | null;
  isOwner: boolean;
  blocked: boolean;
  /** The subscriber's global switch is off. */
  switchedOff: boolean;
}

export type DeliveryDecision = { deliver: true } | { deliver: false; reason: 'not permitted' | 'switched off' | 'follow pending' | 'follow off' | 'blocked' };

export function decideDelivery(f: DeliveryFacts): DeliveryDecision {
  if (f.blocked) return { deliver: false, reason: 'blocked' };
  if (f.followState === 'pending') return { deliver: false, reason: 'follow pending' };
  if (f.visibility === 'protected' && !f.isOwner && f.sourceFollowState !== 'active' && f.sourceFollowState !== 'off') {
    return { deliver: false, reason: 'not permitted' };
  }
  if (f.followState === 'off') return { deliver: false, reason: 'follow off' };
  if (f.switchedOff) return { deliver: false, reason: 'switched off' };
  return { deliver: true };
}

/** Who may decide a follow request: the source itself, an owner of it, or an admin — never the requester. */
export function canDecideRequest(v: { isOwner: boolean; isAdmin: boolean; isRequester: boolean }): boolean {
  if (v.isRequester && !v.isAdmin) return false;
  return v.isOwner || v.isAdmin;
}

/** Who may post as / manage a source. */
export function canActAs(v: { isSelf: boolean; isOwner: boolean; isAdmin: boolean }): boolean {
  return v.isSelf || v.isOwner || v.isAdmin;
}

/** `d @handle`: only between people who follow each other, unless an admin allows it. */
export function canDirectMessage(v: { senderFollowsRecipient: boolean; recipientFollowsSender: boolean; senderIsAdmin: boolean }): boolean {
  return v.senderIsAdmin || (v.senderFollowsRecipient && v.recipientFollowsSender);
}
