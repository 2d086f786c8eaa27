import { and, desc, eq, gte, inArray, lt, or, type SQL } from 'drizzle-orm';
import { newId } from '../core/ids.js';
import type { DbOrTx } from '../db/client.js';
import { consentLog, sources } from '../db/schema.js';
import type { AppContext } from './context.js';

export type ConsentAction =
  | 'follow'
  | 'unfollow'
  | 'approve'
  | 'deny'
  | 'block'
  | 'on'
  | 'off'
  | 'digest'
  | 'unsubscribe'
  | 'quiet'
  | 'protect'
  | 'dm'
  | 'track'
  | 'untrack'
  | 'admin_grant'
  | 'admin_revoke'
  /** An XMPP address linked to a person (`confirm`); subject the person, object `xmpp:<jid>`. */
  | 'link'
  /** A phone number (SPEC section 9): `detail.step` added (code sent), verified, removed; object `sms:<number>`. */
  | 'phone'
  /** STOP / START by text message (or the provider's opt-out, error 21610): every SMS route of the number off / on. */
  | 'sms_stop'
  | 'sms_start';

export type Via = 'slack' | 'teams' | 'api' | 'email' | 'cli' | 'hook' | 'web' | 'config' | 'xmpp' | 'sms';

export interface ConsentEntry {
  actorId: string | null;
  action: ConsentAction;
  subjectId: string;
  object?: string;
  via: Via;
  detail?: Record<string, unknown>;
  at?: Date;
}

/** Records an opt-in or opt-out; call it inside the transaction that makes the change. */
export async function recordConsent(tx: DbOrTx, e: ConsentEntry): Promise<void> {
  await tx.insert(consentLog).values({
    id: newId(e.at?.getTime()),
    at: e.at ?? new Date(),
    actorId: e.actorId,
    action: e.action,
    subjectId: e.subjectId,
    object: e.object ?? '',
    via: e.via,
    detail: e.detail ?? {},
  });
}

export interface ConsentQuery {
  since?: Date;
  subjectId?: string;
  limit: number;
  /** Cursor: the id of the last item of the previous page. */
  before?: string;
}

/** Newest first, keyset-paginated. */
export async function listConsent(ctx: AppContext, q: ConsentQuery) {
  const where: SQL[] = [];
  if (q.since) where.push(gte(consentLog.at, q.since));
  if (q.subjectId) where.push(or(eq(consentLog.subjectId, q.subjectId), eq(consentLog.actorId, q.subjectId))!);
  if (q.before) where.push(lt(consentLog.id, q.before));
  const rows = await ctx.db
    .select()
    .from(consentLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(consentLog.id))
    .limit(q.limit + 1);
  const items = rows.slice(0, q.limit);
  return { items, next: rows.length > q.limit ? (items[items.length - 1]?.id ?? null) : null };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  // Quote always; double inner quotes; neutralise spreadsheet formulas (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
};

type ConsentCsvRow = { id: string; at: Date; actorId: string | null; action: string; subjectId: string; object: string; via: string; detail: unknown };

/** The handle of every actor and subject that is a source (subjects may also be channels or webhooks), by id. */
export async function consentHandles(db: DbOrTx, rows: readonly ConsentCsvRow[]): Promise<Map<string, string>> {
  const ids = [...new Set(rows.flatMap((r) => (r.actorId ? [r.actorId, r.subjectId] : [r.subjectId])))];
  const found = new Map<string, string>();
  // In slices, so that a long export does not become one statement with tens of thousands of parameters.
  for (let i = 0; i < ids.length; i += 1000) {
    const slice = ids.slice(i, i + 1000);
    for (const r of await db.select({ id: sources.id, handle: sources.handle }).from(sources).where(inArray(sources.id, slice))) found.set(r.id, r.handle);
  }
  return found;
}

/**
 * The record as CSV. `actor_handle` and `subject_handle` (without `@`, empty when the id is not a
 * source) come last, so that a reader of the older columns by position keeps working.
 */
export function consentCsv(rows: readonly ConsentCsvRow[], handles: ReadonlyMap<string, string> = new Map()): string {
  const head = ['id', 'at', 'actor_id', 'action', 'subject_id', 'object', 'via', 'detail', 'actor_handle', 'subject_handle'].join(',');
  const handleOf = (id: string | null) => (id ? (handles.get(id) ?? null) : null);
  const lines = rows.map((r) =>
    [r.id, r.at.toISOString(), r.actorId, r.action, r.subjectId, r.object, r.via, r.detail, handleOf(r.actorId), handleOf(r.subjectId)].map(csvCell).join(','),
  );
  return [head, ...lines].join('\r\n') + '\r\n';
}
