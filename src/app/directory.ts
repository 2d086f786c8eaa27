import { and, asc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { FollowState, SourceKind, Visibility } from '../core/types.js';
import { follows, sources } from '../db/schema.js';
import type { AppContext } from './context.js';

/**
 * The directory (SPEC sections 2, 3, 10): every person and service, the one place to discover what to
 * follow. Protected sources are listed with their visibility (their statuses are not shown here).
 * Matched by handle and name, every word of `q` must match; ordered by handle, cursor = the last handle.
 */

export interface DirectoryQuery {
  q?: string | undefined;
  kind?: SourceKind | undefined;
  limit: number;
  /** The `next` cursor of the previous page (a handle). */
  before?: string | undefined;
}

export interface DirectoryEntry {
  id: string;
  handle: string;
  name: string;
  kind: SourceKind;
  visibility: Visibility;
  /** The stored admin flag (people). */
  isAdmin: boolean;
  /** The viewer's follow of this source, when the viewer is a person. */
  followState: FollowState | null;
}

const MAX_WORDS = 8;

/** `%`, `_` and `\` match literally. */
const likeEscape = (w: string) => w.replace(/[\\%_]/g, (c) => `\\${c}`);

export function queryWords(q: string | undefined): string[] {
  return (q ?? '')
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/^[@#]/, ''))
    .filter((w) => w.length > 0)
    .slice(0, MAX_WORDS);
}

export async function searchDirectory(ctx: Pick<AppContext, 'db'>, viewerId: string | null, q: DirectoryQuery): Promise<{ items: DirectoryEntry[]; next: string | null }> {
  const where: SQL[] = [];
  for (const w of queryWords(q.q)) {
    const pattern = `%${likeEscape(w)}%`;
    where.push(or(sql`${sources.handle} like ${pattern}`, sql`lower(${sources.name}) like ${pattern}`)!);
  }
  if (q.kind) where.push(eq(sources.kind, q.kind));
  if (q.before) where.push(gt(sources.handle, q.before));
  const rows = await ctx.db
    .select({ id: sources.id, handle: sources.handle, name: sources.name, kind: sources.kind, visibility: sources.visibility, isAdmin: sources.isAdmin })
    .from(sources)
    .where(where.length ? and(...where) : undefined)
    .orderBy(asc(sources.handle))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const states = new Map<string, FollowState>();
  if (viewerId && page.length) {
    const fs = await ctx.db
      .select({ target: follows.target, state: follows.state })
      .from(follows)
      .where(
        and(
          eq(follows.subscriberKind, 'person'),
          eq(follows.subscriberId, viewerId),
          eq(follows.targetKind, 'source'),
          inArray(
            follows.target,
            page.map((r) => r.id),
          ),
        ),
      );
    for (const f of fs) states.set(f.target, f.state);
  }
  const items = page.map((r) => ({ ...r, followState: states.get(r.id) ?? null }));
  return { items, next: rows.length > q.limit ? (page[page.length - 1]?.handle ?? null) : null };
}
