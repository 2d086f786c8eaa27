import type { Route, SubscriberKind } from '../core/types.js';
import type { MessageRef, SendOutcome } from './messenger.js';

/** A delivery row as a channel sees it (see `deliveries` in db/schema.ts). */
export interface DeliveryRecord {
  id: string;
  event: string;
  statusId: string | null;
  subscriberKind: SubscriberKind;
  subscriberId: string;
  route: Route;
  followId: string | null;
  attempts: number;
  payload: Record<string, unknown>;
  refs: Record<string, unknown>[];
  createdAt: Date;
}

export type DeliveryOutcome =
  | { kind: 'sent'; refs?: MessageRef[] }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'skip'; reason: string }
  | { kind: 'fail'; reason: string }
  /** Not now: deliver at `until` (quiet hours). */
  | { kind: 'hold'; until: Date }
  /** Not as a chat message: the delivery becomes an entry of the person's email digest (quiet hours with quiet_to_digest, or the email route). */
  | { kind: 'digest' };

/** One delivery route. The registry is a Record<Route, Channel>, so a missing one is a compile error. */
export interface Channel {
  readonly route: Route;
  /** Attempts allowed for this route (webhooks: retry delays + 1). */
  readonly maxAttempts: number;
  /** Delay before attempt n+1 after attempt n (1-based) failed without a Retry-After. */
  backoffMs(attempt: number): number;
  deliver(delivery: DeliveryRecord): Promise<DeliveryOutcome>;
  /**
   * Several deliveries of one batch, each send run through `limit` (the process's cap on sends in
   * flight); one outcome per delivery, in order. A channel that can share lookups across a batch
   * implements it; otherwise the worker calls `deliver` for each.
   */
  deliverMany?(deliveries: readonly DeliveryRecord[], limit: Limit): Promise<DeliveryOutcome[]>;
}

/** Runs `fn` when a slot is free (p-limit's shape). */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

export type ChannelRegistry = Record<Route, Channel>;

export type { SendOutcome };
