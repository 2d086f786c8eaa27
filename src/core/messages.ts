import type { Entities, SourceKind, StatusPlatform } from './types.js';

/** A status as every outside party sees it (API, webhooks, feeds, chat cards). */
export interface StatusView {
  id: string;
  url: string;
  text: string;
  created_at: string;
  platform: StatusPlatform;
  source: { handle: string; kind: SourceKind; name: string };
  entities: Entities;
  /** A status pulled from a feed or calendar: `{kind, id, item | event}` (SPEC section 7). */
  input?: Record<string, unknown>;
}

export interface SourceRef {
  handle: string;
  name: string;
}

/**
 * Platform-neutral outbound messages. Each chat integration renders them its own way
 * (Slack Block Kit, Teams Adaptive Card) with a plain-text fallback.
 */
export type OutboundMessage =
  /** A status delivered because of a follow. `why` and `offHint` make the context line. */
  | { kind: 'status'; status: StatusView; why: string; offHint: string }
  /** A short notice to a person: "@jane approved your follow request". */
  | { kind: 'notice'; text: string }
  /** To a protected source's owners: approve or deny. Buttons carry `followId`. */
  | { kind: 'follow_request'; followId: string; requester: SourceRef; source: SourceRef }
  /** `d @handle text`. */
  | { kind: 'direct'; from: SourceRef; text: string }
  /** One message listing several statuses: catchup, or the end of quiet hours. */
  | { kind: 'summary'; title: string; items: StatusView[]; more: number };

/** The plain-text form of any outbound message: the fallback every renderer includes. */
export function plainText(m: OutboundMessage): string {
  switch (m.kind) {
    case 'status':
      return `@${m.status.source.handle}: ${m.status.text}\n${m.status.url}\n${m.why}. ${m.offHint}`;
    case 'notice':
      return m.text;
    case 'follow_request':
      return `@${m.requester.handle} (${m.requester.name}) asks to follow @${m.source.handle}. Reply "approve @${m.requester.handle}" or "deny @${m.requester.handle}".`;
    case 'direct':
      return `Direct message from @${m.from.handle}: ${m.text}`;
    case 'summary': {
      const lines = m.items.map((s) => `• @${s.source.handle}: ${s.text} (${s.url})`);
      if (m.more > 0) lines.push(`…and ${m.more} more`);
      return `${m.title}\n${lines.join('\n')}`;
    }
  }
}
