/** Platform-neutral domain types. No SDK or I/O type may appear here. */

export type ChatPlatform = 'slack' | 'teams';
export type StatusPlatform = ChatPlatform | 'api' | 'hook';
export type SourceKind = 'person' | 'service';
export type Visibility = 'public' | 'protected';
export type FollowState = 'active' | 'pending' | 'off';
/** How a follow is asked to deliver; `both` = dm + email. */
export type FollowRoute = 'dm' | 'email' | 'both' | 'channel' | 'webhook';
/** How one delivery travels. */
export type Route = 'dm' | 'email' | 'channel' | 'webhook';
export type SubscriberKind = 'person' | 'channel' | 'webhook';
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
}
