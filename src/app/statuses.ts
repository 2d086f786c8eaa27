import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { parseEntities, wordsOf } from '../core/entities.js';
import { checkStatusText } from '../core/commands/text.js';
import { normalizeInputText } from '../core/input-text.js';
import { notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { StatusView } from '../core/messages.js';
import { canView, noViewer, type ViewerFacts } from '../core/permissions.js';
import type { StatusPlatform } from '../core/types.js';
import type { Db, DbOrTx } from '../db/client.js';
import { inJsonList } from '../db/json-params.js';
import { preparedFor, preparedSql } from '../db/prepared.js';
import { blocks, follows, outbox, serviceOwners, sources, statuses } from '../db/schema.js';
import type { AppContext } from './context.js';
import { writeOutbox } from './outbox.js';
import { getSourceById, isOwnerOf, type SourceRow } from './people.js';
import { requireActAs } from './services.js';
import { toStatusView } from './status-view.js';

export type StatusRow = typeof statuses.$inferSelect;

/** The one input normalisation (core/input-text.ts), then 1..1000 characters (code points), as the chat grammar does. */
export function checkText(raw: string): string {
  return checkStatusText(normalizeInputText(raw), 'post <text>');
}

export interface PostInput {
  sourceId: string;
  authorId?: string | null;
  text: string;
  platform: StatusPlatform;
  /** Makes a repeat harmless: `tok:<tokenId>:<Idempotency-Key>`, `slack:<team>:<channel>:<ts>`, ... */
  dedupeKey?: string;
  /** Not delivered after this time (a calendar reminder expires when its event starts). */
  expiresAt?: Date | null;
  /** `data.input` of a status pulled by an input (SPEC section 7). */
  input?: Record<string, unknown> | null;
  /** The source's row when the caller already holds it (the API's token owner): saves reading it again. */
  source?: SourceRow;
}

/**
 * Accepts a status: the status and its outbox record are written in one transaction, so a crash
 * between commit and enqueue loses nothing (the relay finds the outbox row).
 */
export async function postStatus(ctx: AppContext, input: PostInput): Promise<{ status: StatusView; created: boolean }> {
  const text = checkText(input.text);
  const source = input.source?.id === input.sourceId ? input.source : await getSourceById(ctx.db, input.sourceId);
  if (!source) throw notFound('Unknown source.');
  // One statement, one round trip: the status and its outbox row commit together, and a repeated
  // dedupe key writes neither (then the first status is the answer).
  const row = await writeStatus(ctx.db, source, { ...input, text }, ctx.clock.now());
  if (row) {
    ctx.kick();
    return { status: toStatusView(ctx.config.publicUrl, row, source), created: true };
  }
  const prior = input.dedupeKey ? await byDedupeKey(ctx.db, input.dedupeKey) : null;
  if (!prior) throw new Error('a status was neither written nor found by its dedupe key');
  return { status: toStatusView(ctx.config.publicUrl, prior, source), created: false };
}

/**
 * The write half of postStatus, inside the caller's transaction: the status and its outbox record.
 * Inputs call it in the transaction that records the items it posts (so none is ever posted twice);
 * the caller commits, then calls `ctx.kick()`. A repeated dedupe key raises the unique violation, so
 * the caller's transaction rolls back whole.
 */
export async function insertStatus(tx: DbOrTx, source: Pick<SourceRow, 'id'>, input: PostInput, now: Date): Promise<StatusRow> {
  const row = statusRow(source, { ...input, text: checkText(input.text) }, now);
  await tx.execute(withOutboxRow(tx.insert(statuses).values(row)));
  return row;
}

/** The row is built here, so nothing is read back. `input.text` has passed checkText. */
function statusRow(source: Pick<SourceRow, 'id'>, input: PostInput, now: Date): StatusRow {
  const { text } = input;
  return {
    id: newId(now.getTime()),
    sourceId: source.id,
    authorId: input.authorId ?? null,
    text,
    platform: input.platform,
    entities: parseEntities(text),
    words: wordsOf(text),
    dedupeKey: input.dedupeKey ?? null,
    createdAt: now,
    deletedAt: null,
    expiresAt: input.expiresAt ?? null,
    input: input.input ?? null,
  };
}

/**
 * `with s as (insert into statuses ... returning id) insert into outbox select ... from s`: the status
 * and its outbox row in one statement (atomic on its own, so no transaction of four round trips).
 */
function withOutboxRow(statusInsert: { returning(fields: { id: typeof statuses.id }): SQLWrapper }): SQL {
  return sql`with s as ${statusInsert.returning({ id: statuses.id })} insert into ${outbox} (event, payload) select 'status.created', jsonb_build_object('statusId', s.id) from s returning 1`;
}

const ph = <K extends keyof StatusRow>(k: K) => sql.placeholder(k);

/**
 * postStatus's statement, prepared: the SQL text is built once, not on every post (drizzle building
 * it was about a tenth of an ingest request's CPU, docs/benchmarks.md). A repeated dedupe key writes
 * neither row.
 */
const postedStatus = preparedSql('tp_status_posted', (db) =>
  withOutboxRow(
    db
      .insert(statuses)
      .values({
        id: ph('id'),
        sourceId: ph('sourceId'),
        authorId: ph('authorId'),
        text: ph('text'),
        platform: ph('platform'),
        entities: ph('entities'),
        words: ph('words'),
        dedupeKey: ph('dedupeKey'),
        createdAt: ph('createdAt'),
        // Nullable columns go as driver values: drizzle's encoders would turn null into 'null'::jsonb or fail.
        expiresAt: sql`${sql.placeholder('expiresAt')}::timestamptz`,
        input: sql`${sql.placeholder('input')}::jsonb`,
      })
      .onConflictDoNothing({ target: statuses.dedupeKey }),
  ),
);

/** The status (its text checked) and its outbox row, or null when the dedupe key was seen before (then nothing was written). */
async function writeStatus(db: Db, source: Pick<SourceRow, 'id'>, input: PostInput, now: Date): Promise<StatusRow | null> {
  const row = statusRow(source, input, now);
  const result = await postedStatus(db).execute({ ...row, expiresAt: row.expiresAt?.toISOString() ?? null, input: row.input ? JSON.stringify(row.input) : null });
  // postgres.js answers with the rows, PGlite with { rows }.
  const written = Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
  return written.length ? row : null;
}

// Statuses by id with their sources: two lookups by primary key, not a join. Right after a bulk load the
// planner joined the two with a merge join that walked the sources' primary key from the start, all
// 110,000 of them for a source made last (50 ms a call; docs/benchmarks.md).
const statusRowsByIds = preparedFor((db) => db.select().from(statuses).where(inJsonList(statuses.id, sql.placeholder('ids'))).prepare('tp_statuses_by_ids'));
const sourcesByIds = preparedFor((db) => db.select().from(sources).where(inJsonList(sources.id, sql.placeholder('ids'))).prepare('tp_sources_by_ids'));

/** Statuses (deleted ones too) with their sources, for the pipeline: an unknown id is left out. */
export async function statusesWithSources(db: Db, ids: readonly string[]): Promise<{ status: StatusRow; source: SourceRow }[]> {
  const rows = await statusRowsByIds(db).execute({ ids: JSON.stringify(ids) });
  if (!rows.length) return [];
  const found = await sourcesByIds(db).execute({ ids: JSON.stringify([...new Set(rows.map((r) => r.sourceId))]) });
  const byId = new Map(found.map((x) => [x.id, x]));
  return rows.flatMap((status) => {
    const source = byId.get(status.sourceId);
    return source ? [{ status, source }] : [];
  });
}

async function byDedupeKey(db: DbOrTx, key: string): Promise<StatusRow | null> {
  const rows = await db.select().from(statuses).where(eq(statuses.dedupeKey, key)).limit(1);
  return rows[0] ?? null;
}

export interface Viewer {
  id: string | null;
  isAdmin: boolean;
}

/** The facts the permission rules need about one viewer and one source. */
export async function viewerFacts(db: DbOrTx, source: SourceRow, viewer: Viewer): Promise<ViewerFacts> {
  if (!viewer.id) return { ...noViewer, isAdmin: viewer.isAdmin };
  const [isOwner, follow, blocked] = await Promise.all([
    isOwnerOf(db, source.id, viewer.id),
    db
      .select({ state: follows.state })
      .from(follows)
      .where(and(eq(follows.subscriberKind, 'person'), eq(follows.subscriberId, viewer.id), eq(follows.targetKind, 'source'), eq(follows.target, source.id)))
      .limit(1),
    db.select({ one: sql`1` }).from(blocks).where(and(eq(blocks.sourceId, source.id), eq(blocks.personId, viewer.id))).limit(1),
  ]);
  return { isOwner, isAdmin: viewer.isAdmin, followState: follow[0]?.state ?? null, blocked: blocked.length > 0 };
}

export async function canViewSource(ctx: Pick<AppContext, 'db'>, source: SourceRow, viewer: Viewer): Promise<boolean> {
  return canView(source.visibility, await viewerFacts(ctx.db, source, viewer));
}

/** One status, if it exists, is not deleted, and the viewer may see it; otherwise 404 (never reveal). */
export async function getStatus(ctx: AppContext, id: string, viewer: Viewer): Promise<{ row: StatusRow; source: SourceRow; view: StatusView }> {
  const rows = await ctx.db
    .select({ s: statuses, src: sources })
    .from(statuses)
    .innerJoin(sources, eq(sources.id, statuses.sourceId))
    .where(and(eq(statuses.id, id), isNull(statuses.deletedAt)))
    .limit(1);
  const r = rows[0];
  if (!r || !(await canViewSource(ctx, r.src, viewer))) throw notFound(`No status ${id}.`);
  return { row: r.s, source: r.src, view: toStatusView(ctx.config.publicUrl, r.s, r.src) };
}

/** Deletes a status everywhere it went: feeds drop it, chat messages are deleted, webhooks get `status.deleted`. */
export async function deleteStatus(ctx: AppContext, actor: Viewer, id: string): Promise<void> {
  const { row, source } = await getStatus(ctx, id, actor);
  await requireActAs(ctx, { id: actor.id ?? '', isAdmin: actor.isAdmin }, source);
  await ctx.db.transaction(async (tx) => {
    const upd = await tx
      .update(statuses)
      .set({ deletedAt: ctx.clock.now() })
      .where(and(eq(statuses.id, row.id), isNull(statuses.deletedAt)))
      .returning({ id: statuses.id });
    if (upd.length) await writeOutbox(tx, { event: 'status.deleted', payload: { statusId: row.id } });
  });
  ctx.kick();
}

export interface Page {
  limit: number;
  before?: string | undefined;
}

export const clampLimit = (raw: unknown, def = 20): number => {
  const n = Number(raw ?? def);
  return Number.isFinite(n) ? Math.max(1, Math.min(100, Math.floor(n))) : def;
};

/** A source's statuses, newest first, keyset-paginated by id (ids are time-ordered). */
export async function sourceTimeline(ctx: AppContext, source: SourceRow, viewer: Viewer, page: Page) {
  if (!(await canViewSource(ctx, source, viewer))) {
    throw notFound(`@${source.handle} is protected; only approved followers see its statuses.`);
  }
  const where: SQL[] = [eq(statuses.sourceId, source.id), isNull(statuses.deletedAt)];
  if (page.before) where.push(lt(statuses.id, page.before));
  const rows = await ctx.db.select().from(statuses).where(and(...where)).orderBy(desc(statuses.id)).limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map((r) => toStatusView(ctx.config.publicUrl, r, source));
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}

/**
 * A person's home timeline: statuses of the sources, tags and words they follow (any state but
 * pending, so switched-off follows stay readable), limited to what they may see.
 */
export async function homeTimeline(ctx: AppContext, personId: string, page: Page, since?: Date) {
  const mine = and(eq(follows.subscriberKind, 'person'), eq(follows.subscriberId, personId), inArray(follows.state, ['active', 'off']));
  const sourceIds = ctx.db.select({ t: follows.target }).from(follows).where(and(mine, eq(follows.targetKind, 'source')));
  const tagRows = await ctx.db.select({ t: follows.target }).from(follows).where(and(mine, eq(follows.targetKind, 'tag')));
  const wordRows = await ctx.db.select({ t: follows.target }).from(follows).where(and(mine, eq(follows.targetKind, 'word')));
  const reach: SQL[] = [inArray(statuses.sourceId, sourceIds)];
  const textArray = (xs: { t: string }[]) => sql`array[${sql.join(xs.map((x) => sql`${x.t}`), sql`, `)}]::text[]`;
  if (tagRows.length) reach.push(sql`${statuses.entities}->'tags' ?| ${textArray(tagRows)}`);
  if (wordRows.length) reach.push(sql`${statuses.words} && ${textArray(wordRows)}`);
  // Visible: public sources not blocking the person, or protected ones they own or were approved by.
  const visible = or(
    and(
      eq(sources.visibility, 'public'),
      sql`not exists (select 1 from ${blocks} b where b.source_id = ${sources.id} and b.person_id = ${personId})`,
    ),
    eq(sources.id, personId),
    sql`exists (select 1 from ${serviceOwners} o where o.service_id = ${sources.id} and o.person_id = ${personId})`,
    sql`exists (select 1 from ${follows} f where f.subscriber_kind = 'person' and f.subscriber_id = ${personId} and f.target_kind = 'source' and f.target = ${sources.id} and f.state in ('active','off'))`,
  );
  const where: SQL[] = [isNull(statuses.deletedAt), or(...reach)!, visible!];
  if (page.before) where.push(lt(statuses.id, page.before));
  if (since) where.push(sql`${statuses.createdAt} >= ${since.toISOString()}`);
  const rows = await ctx.db
    .select({ s: statuses, src: sources })
    .from(statuses)
    .innerJoin(sources, eq(sources.id, statuses.sourceId))
    .where(and(...where))
    .orderBy(desc(statuses.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map((r) => toStatusView(ctx.config.publicUrl, r.s, r.src));
  return { items, next: rows.length > page.limit ? (items[items.length - 1]?.id ?? null) : null };
}
