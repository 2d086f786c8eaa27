/** Platform-neutral domain types. No SDK or I/O type may appear here. */

export type ChatPlatform = 'slack' | 'teams';
export type StatusPlatform = ChatPlatform | 'api' | 'hook' | 'web' | 'xmpp' | 'sms' | 'feed' | 'calendar';
export type SourceKind = 'person' | 'service';
export type Visibility = 'public' | 'protected';
export type FollowState = 'active' | 'pending' | 'off';
/**
 * How a follow is asked to deliver, as stored: `channel`, `webhook`, or a person's routes '+'-joined in a
 * fixed order (`dm`, `dm+email`, `dm+sms`; legacy `both` = dm+email). Helpers in core/routes.ts.
 */
export type FollowRoute = string;
/** How one delivery travels. */
export type Route = 'dm' | 'email' | 'channel' | 'webhook' | 'sms' | 'xmpp';
/** `xmpp`: an XMPP address not yet linked to a person (SPEC section 8); its id is the bare JID. */
export type SubscriberKind = 'person' | 'channel' | 'webhook' | 'xmpp';
export type TargetKind = 'source' | 'tag' | 'word';
export type DigestPeriod = 'off' | 'hourly' | 'daily' | 'weekly';
export type DmPreference = 'last' | 'slack' | 'teams' | 'both';

export interface Amount {
  value: string;
  currency: string;
}

export interface Entities {
  mentions: string[];
  tags: string[];
  urls: string[];
  amounts: Amount[];
}

export interface Source {
  id: string;
  handle: string;
  kind: SourceKind;
  name: string;
  email: string | null;
  visibility: Visibility;
  isAdmin: boolean;
  timezone: string;
  switchedOff: boolean;
}

export interface Status {
  id: string;
  sourceId: string;
  text: string;
  platform: StatusPlatform;
  entities: Entities;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface Follow {
  id: string;
  subscriberKind: SubscriberKind;
  subscriberId: string;
  targetKind: TargetKind;
  target: string;
  state: FollowState;
  route: FollowRoute;
  filters: string[];
}

/** What the platform-neutral core hands a chat adapter to show a person. */
export interface Reply {
  text: string;
  /** Optional structured parts an adapter may render richer (Block Kit, Adaptive Card). */
  title?: string;
  lines?: string[];
  /** Holds a one-time link or secret: adapters send it without link previews (Slack `unfurl_links: false`). */
  noPreview?: boolean;
}
