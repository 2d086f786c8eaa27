import { describe, expect, it } from 'vitest';
import type { OutboundMessage, StatusView } from '../../src/core/messages.js';
import { messageCard } from '../../src/integrations/teams/cards.js';

/**
 * Class 1 of docs/security.md, the Teams side: Adaptive Card TextBlocks render markdown, so a status,
 * a name or a notice with `[click here](http://x)` must not become a link that hides where it goes.
 * The only markdown links in a card are ours (`[Open](<our status URL>)`).
 */
const EVIL = 'see [click here](http://evil.example/x) and [a]: http://evil.example \\[already\\]';
const view = (id: string): StatusView => ({
  id,
  url: `http://127.0.0.1:3000/statuses/${id}`,
  text: EVIL,
  created_at: '2026-11-23T10:00:00.000Z',
  platform: 'api',
  source: { handle: 'build', kind: 'service', name: `[Build](http://evil.example)` },
  entities: { mentions: [], tags: [], urls: [], amounts: [] },
});

function textsOf(m: OutboundMessage): string[] {
  return messageCard(m).body.map((e) => String((e as { text?: unknown }).text ?? ''));
}

describe('Teams cards show markdown links from user text as typed', () => {
  const evilRef = { handle: 'jane', name: '[Jane](http://evil.example)' };
  const messages: OutboundMessage[] = [
    { kind: 'status', status: view('01A'), why: 'You follow @build', offHint: 'off @build' },
    { kind: 'follow_request', followId: 'f1', requester: evilRef, source: { handle: 'build', name: 'Build' } },
    { kind: 'direct', from: evilRef, text: EVIL },
    { kind: 'notice', text: EVIL },
    { kind: 'summary', title: 'While you were away', items: [view('01B')], more: 0 },
  ];

  it.each(messages.map((m) => [m.kind, m] as const))('%s', (_kind, m) => {
    for (const t of textsOf(m)) {
      // Every markdown link left is one of ours, to our own status page.
      for (const link of t.matchAll(/(?<!\\)\[([^\]]*)(?<!\\)\]\(([^)]*)\)/g)) expect(link[2]).toMatch(/^http:\/\/127\.0\.0\.1:3000\/statuses\//);
    }
    expect(textsOf(m).join('\n')).toMatch(/\\\[(click here|Jane|Build)\\\]/);
  });
});
