import { eq } from 'drizzle-orm';
import { toStatusView } from '../../app/status-view.js';
import type { OutboundMessage, StatusView } from '../../core/messages.js';
import type { DbOrTx } from '../../db/client.js';
import { follows, sources, statuses } from '../../db/schema.js';
import type { DeliveryRecord } from '../channel.js';

type FollowRow = typeof follows.$inferSelect;

/** "@build" / "#deploy" / "outage": how a follow's target is written in chat. */
function targetText(f: Pick<FollowRow, 'targetKind' | 'target'>, sourceHandle: string): { label: string; kind: 'source' | 'tag' | 'word' } {
  if (f.targetKind === 'tag') return { label: `#${f.target}`, kind: 'tag' };
  if (f.targetKind === 'word') return { label: f.target, kind: 'word' };
  return { label: `@${sourceHandle}`, kind: 'source' };
}

/** The context line: why this arrived and the command that stops it. */
export function whyAndOff(audience: 'person' | 'channel', f: Pick<FollowRow, 'targetKind' | 'target'> | null, sourceHandle: string): { why: string; offHint: string } {
  const t = f ? targetText(f, sourceHandle) : { label: `@${sourceHandle}`, kind: 'source' as const };
  if (audience === 'channel') {
    return { why: `This channel follows ${t.kind === 'word' ? `"${t.label}"` : t.label}`, offHint: `Turn off: channel unfollow ${t.label}` };
  }
  if (t.kind === 'word') return { why: `You track "${t.label}"`, offHint: `Turn off: untrack ${t.label}` };
  return { why: `You follow ${t.label}`, offHint: `Turn off: off ${t.label}` };
}

export type StatusLoad = { ok: true; view: StatusView; follow: FollowRow | null; message: OutboundMessage } | { ok: false; reason: string };

/**
 * The status a `status.created` delivery carries, checked again at send time: consent may have
 * changed since fan-out (unfollowed, switched off, deleted).
 */
export async function statusForDelivery(db: DbOrTx, publicUrl: string, d: DeliveryRecord, audience: 'person' | 'channel', now: Date = new Date()): Promise<StatusLoad> {
  if (!d.statusId) return { ok: false, reason: 'no status' };
  const [r] = await db.select({ s: statuses, src: sources }).from(statuses).innerJoin(sources, eq(sources.id, statuses.sourceId)).where(eq(statuses.id, d.statusId)).limit(1);
  if (!r || r.s.deletedAt) return { ok: false, reason: 'status deleted' };
  let follow: FollowRow | null = null;
  if (d.followId) {
    follow = (await db.select().from(follows).where(eq(follows.id, d.followId)).limit(1))[0] ?? null;
    if (!follow) return { ok: false, reason: 'unfollowed' };
    if (follow.state === 'off') return { ok: false, reason: 'follow off' };
    if (follow.state === 'pending') return { ok: false, reason: 'follow pending' };
  }
  // A calendar reminder is never sent once its event has started (SPEC section 7).
  if (r.s.expiresAt && r.s.expiresAt <= now) return { ok: false, reason: 'expired' };
  const view = toStatusView(publicUrl, r.s, r.src);
  return { ok: true, view, follow, message: { kind: 'status', status: view, ...whyAndOff(audience, follow, r.src.handle) } };
}
