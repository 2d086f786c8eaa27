import type { ChatPlatform } from '../core/types.js';
import type { OutboundMessage } from '../core/messages.js';

/** A person's account on one chat platform, as stored in `identities`. */
export interface IdentityAddress {
  personId: string;
  platform: ChatPlatform;
  tenant: string;
  externalId: string;
  data: Record<string, unknown>;
}

/** A chat channel, as stored in `channels`. */
export interface ChannelAddress {
  channelId: string;
  platform: ChatPlatform;
  tenant: string;
  externalId: string;
  data: Record<string, unknown>;
}

/** Where a message landed, kept in `deliveries.refs` so a deleted status can be retracted. */
export type MessageRef = { platform: ChatPlatform } & Record<string, unknown>;

export type SendOutcome =
  | { kind: 'sent'; ref?: MessageRef }
  /** Try again; `retryAfterMs` when the platform said when (Slack/Teams 429 Retry-After). */
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  /** Will never work and is nobody's fault: uninstalled workspace, archived channel, removed bot. */
  | { kind: 'skip'; reason: string }
  /** Permanent failure. */
  | { kind: 'fail'; reason: string };

/** One chat platform's outbound side. Registered in main.ts only when that platform is configured. */
export interface Messenger {
  readonly platform: ChatPlatform;
  sendToPerson(to: IdentityAddress, message: OutboundMessage): Promise<SendOutcome>;
  sendToChannel(to: ChannelAddress, message: OutboundMessage): Promise<SendOutcome>;
  /** Deletes a message it sent earlier (a deleted status). Resolves when gone or already gone. */
  retract(ref: MessageRef): Promise<SendOutcome>;
}

export type Messengers = Partial<Record<ChatPlatform, Messenger>>;
