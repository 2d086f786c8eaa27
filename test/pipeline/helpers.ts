import { and, eq } from 'drizzle-orm';
import type { AppContext } from '../../src/app/context.js';
import { postStatus } from '../../src/app/statuses.js';
import { newId } from '../../src/core/ids.js';
import type { OutboundMessage } from '../../src/core/messages.js';
import type { ChatPlatform } from '../../src/core/types.js';
import { channels, deliveries, follows, identities, serviceOwners, sources, webhooks } from '../../src/db/schema.js';
import { generateWebhookSecret } from '../../src/net/webhook-signing.js';
import type { ChannelAddress, IdentityAddress, MessageRef, Messenger, SendOutcome } from '../../src/pipeline/messenger.js';
import { waitUntil as poll, type Maybe } from '../helpers/wait.js';

type SourceInsert = typeof sources.$inferInsert;
type FollowInsert = typeof follows.$inferInsert;

export async function addPerson(ctx: AppContext, handle: string, extra: Partial<SourceInsert> = {}) {
  const [p] = await ctx.db
    .insert(sources)
    // People here read a daily digest unless a test says otherwise (email deliveries wait for it).
    .values({ id: newId(), handle, kind: 'person', name: `${handle} Example`, email: `${handle}@example.test`, digestPeriod: 'daily', ...extra })
    .returning();
  return p!;
}

export async function addService(ctx: AppContext, handle: string, ownerIds: string[] = [], extra: Partial<SourceInsert> = {}) {
  const [s] = await ctx.db.insert(sources).values({ id: newId(), handle, kind: 'service', name: `${handle} service`, ...extra }).returning();
  if (ownerIds.length) await ctx.db.insert(serviceOwners).values(ownerIds.map((personId) => ({ serviceId: s!.id, personId })));
  return s!;
}

export async function addFollow(
  ctx: AppContext,
  f: Pick<FollowInsert, 'subscriberKind' | 'subscriberId' | 'target'> & Partial<Pick<FollowInsert, 'targetKind' | 'state' | 'route' | 'filters'>>,
) {
  const [row] = await ctx.db
    .insert(follows)
    .values({
      id: newId(),
      targetKind: 'source',
      state: 'active',
      route: f.subscriberKind === 'person' ? 'dm' : f.subscriberKind,
      filters: [],
      ...f,
    })
    .returning();
  return row!;
}

export async function addIdentity(ctx: AppContext, personId: string, platform: ChatPlatform, externalId: string, updatedAt = new Date()) {
  const [i] = await ctx.db
    .insert(identities)
    .values({ id: newId(), personId, platform, tenant: platform === 'slack' ? 'T1' : 'tenant-1', externalId, updatedAt })
    .returning();
  return i!;
}

export async function addChannel(ctx: AppContext, platform: ChatPlatform, externalId: string) {
  const [c] = await ctx.db.insert(channels).values({ id: newId(), platform, tenant: 'T1', externalId, name: 'general' }).returning();
  return c!;
}

export async function addWebhook(ctx: AppContext, ownerId: string, url: string, extra: Partial<typeof webhooks.$inferInsert> = {}) {
  const [w] = await ctx.db.insert(webhooks).values({ id: newId(), ownerId, url, secret: generateWebhookSecret(), ...extra }).returning();
  return w!;
}

/** Posts through the app (status + outbox row in one transaction), as every inbound path does. */
export async function post(ctx: AppContext, sourceId: string, text: string, authorId?: string) {
  const { status } = await postStatus(ctx, { sourceId, text, platform: 'api', ...(authorId ? { authorId } : {}) });
  return status;
}

export async function deliveriesOf(ctx: AppContext, statusId: string) {
  return ctx.db.select().from(deliveries).where(eq(deliveries.statusId, statusId));
}

export async function deliveryFor(ctx: AppContext, statusId: string, subscriberId: string, route?: string) {
  const rows = await ctx.db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.statusId, statusId), eq(deliveries.subscriberId, subscriberId)));
  return rows.filter((r) => !route || r.route === route);
}

export async function getDelivery(ctx: AppContext, id: string) {
  const [d] = await ctx.db.select().from(deliveries).where(eq(deliveries.id, id));
  return d!;
}

/** Polls until `probe` returns something truthy (15 s: pipelines under a busy suite). */
export const waitUntil = <T>(probe: () => Promise<Maybe<T>> | Maybe<T>, what: string, timeoutMs = 15_000) => poll(probe, what, timeoutMs);

export interface SentMessage {
  to: IdentityAddress | ChannelAddress;
  kind: 'person' | 'channel';
  message: OutboundMessage;
}

/**
 * A chat platform's outbound side at the Messenger seam: records what it was asked to send and
 * answers from a script (default: sent, with a ref). The real Slack/Teams messengers are tested
 * against their fake servers by their own suites.
 */
export class RecordingMessenger implements Messenger {
  readonly sent: SentMessage[] = [];
  readonly calls: SentMessage[] = [];
  readonly retracted: MessageRef[] = [];
  private script: SendOutcome[] = [];
  private n = 0;

  constructor(readonly platform: ChatPlatform) {}

  /** The next answers, in order; after them, sent. */
  answer(...outcomes: SendOutcome[]): void {
    this.script.push(...outcomes);
  }

  /** Awaited once, by the next send before it answers: a send held in flight while the test changes the world. */
  hold: (() => Promise<unknown>) | null = null;

  private async reply(to: IdentityAddress | ChannelAddress, kind: 'person' | 'channel', message: OutboundMessage): Promise<SendOutcome> {
    const call = { to, kind, message };
    this.calls.push(call);
    const hold = this.hold;
    this.hold = null;
    if (hold) await hold();
    const next = this.script.shift();
    if (next) return next;
    this.sent.push(call);
    return { kind: 'sent', ref: { platform: this.platform, channel: 'D1', ts: `${++this.n}` } };
  }

  sendToPerson(to: IdentityAddress, message: OutboundMessage): Promise<SendOutcome> {
    return this.reply(to, 'person', message);
  }

  sendToChannel(to: ChannelAddress, message: OutboundMessage): Promise<SendOutcome> {
    return this.reply(to, 'channel', message);
  }

  retract(ref: MessageRef): Promise<SendOutcome> {
    this.retracted.push(ref);
    return Promise.resolve({ kind: 'sent' });
  }
}
