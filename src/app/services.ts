import { eq } from 'drizzle-orm';
import { conflict, forbidden, invalid } from '../core/errors.js';
import { parseHandle } from '../core/handles.js';
import { newId } from '../core/ids.js';
import type { Visibility } from '../core/types.js';
import { serviceOwners, sources } from '../db/schema.js';
import type { AppContext } from './context.js';
import { getSourceByHandle, handlesOf, mayActAs, ownerIdsOf, requireSource, type SourceRow } from './people.js';

export interface ServiceView {
  handle: string;
  name: string;
  kind: 'service';
  visibility: Visibility;
  owners: string[];
}

async function ownerRows(ctx: Pick<AppContext, 'db'>, handles: string[]): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for (const h of handles) {
    const s = await requireSource(ctx, h);
    if (s.kind !== 'person') throw invalid(`@${s.handle} is a service; owners must be people.`);
    rows.push(s);
  }
  return rows;
}

export async function serviceView(ctx: Pick<AppContext, 'db'>, s: SourceRow): Promise<ServiceView> {
  return { handle: s.handle, name: s.name, kind: 'service', visibility: s.visibility, owners: await handlesOf(ctx.db, await ownerIdsOf(ctx.db, s)) };
}

export async function createService(
  ctx: Pick<AppContext, 'db'>,
  input: { handle: string; name: string; visibility?: Visibility; owners?: string[] },
): Promise<ServiceView> {
  const handle = parseHandle(input.handle);
  const name = input.name.trim();
  if (!name || name.length > 100) throw invalid('name must be 1 to 100 characters.');
  if (await getSourceByHandle(ctx, handle)) throw conflict(`The handle @${handle} is taken.`);
  const owners = await ownerRows(ctx, input.owners ?? []);
  const row = await ctx.db.transaction(async (tx) => {
    const [s] = await tx
      .insert(sources)
      .values({ id: newId(), handle, kind: 'service', name, visibility: input.visibility ?? 'public' })
      .returning();
    if (owners.length) await tx.insert(serviceOwners).values(owners.map((o) => ({ serviceId: s!.id, personId: o.id })));
    return s!;
  });
  return serviceView(ctx, row);
}

export async function updateService(
  ctx: Pick<AppContext, 'db'>,
  handle: string,
  patch: { name?: string; visibility?: Visibility; owners?: string[] },
): Promise<ServiceView> {
  const s = await requireSource(ctx, handle);
  if (s.kind !== 'service') throw invalid(`@${s.handle} is a person, not a service.`);
  const owners = patch.owners ? await ownerRows(ctx, patch.owners) : undefined;
  const name = patch.name?.trim();
  if (name !== undefined && (!name || name.length > 100)) throw invalid('name must be 1 to 100 characters.');
  const row = await ctx.db.transaction(async (tx) => {
    const set = { ...(name ? { name } : {}), ...(patch.visibility ? { visibility: patch.visibility } : {}) };
    const [u] = Object.keys(set).length ? await tx.update(sources).set(set).where(eq(sources.id, s.id)).returning() : [s];
    if (owners) {
      await tx.delete(serviceOwners).where(eq(serviceOwners.serviceId, s.id));
      if (owners.length) await tx.insert(serviceOwners).values(owners.map((o) => ({ serviceId: s.id, personId: o.id })));
    }
    return u!;
  });
  return serviceView(ctx, row);
}

/** Throws unless `actor` may act as `source` (itself, an owner, or an admin). */
export async function requireActAs(ctx: Pick<AppContext, 'db'>, actor: { id: string; isAdmin: boolean }, source: SourceRow): Promise<void> {
  if (!(await mayActAs(ctx.db, actor, source.id))) throw forbidden(`You are not an owner of @${source.handle}.`);
}

/** The services a person owns, by handle. */
export async function servicesOwnedBy(ctx: Pick<AppContext, 'db'>, personId: string): Promise<SourceRow[]> {
  const rows = await ctx.db
    .select({ s: sources })
    .from(serviceOwners)
    .innerJoin(sources, eq(sources.id, serviceOwners.serviceId))
    .where(eq(serviceOwners.personId, personId))
    .orderBy(sources.handle);
  return rows.map((r) => r.s);
}
