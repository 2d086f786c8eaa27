import { eq } from 'drizzle-orm';
import type { AppContext } from '../../../src/app/context.js';
import { follow, resolveTarget } from '../../../src/app/follows.js';
import { createPerson, type SourceRow } from '../../../src/app/people.js';
import { createService } from '../../../src/app/services.js';
import { postStatus } from '../../../src/app/statuses.js';
import type { ManualClock } from '../../../src/core/clock.js';
import { newId } from '../../../src/core/ids.js';
import type { FollowRoute } from '../../../src/core/types.js';
import { deliveries, sources } from '../../../src/db/schema.js';

export async function person(ctx: AppContext, handle: string, opts: { timezone?: string; digest?: 'hourly' | 'daily' | 'weekly'; at?: string } = {}): Promise<SourceRow> {
  const p = await createPerson(ctx, { handle, name: `${handle[0]!.toUpperCase()}${handle.slice(1)} Example`, email: `${handle}@example.test`, timezone: opts.timezone ?? 'Europe/Berlin' });
  if (opts.digest) {
    const [u] = await ctx.db.update(sources).set({ digestPeriod: opts.digest, digestAt: opts.at ?? '08:00' }).where(eq(sources.id, p.id)).returning();
    return u!;
  }
  return p;
}

export async function service(ctx: AppContext, handle: string, name: string): Promise<SourceRow> {
  await createService(ctx, { handle, name });
  const [s] = await ctx.db.select().from(sources).where(eq(sources.handle, handle));
  return s!;
}

export async function follows(ctx: AppContext, subscriber: SourceRow, target: string, route: FollowRoute = 'email'): Promise<string> {
  const r = await follow(ctx, {
    subscriber: { kind: 'person', id: subscriber.id },
    actor: { id: subscriber.id, isAdmin: false },
    target: await resolveTarget(ctx, target),
    route,
    via: 'slack',
  });
  return r.follow.id;
}

/**
 * Posts a status at `at` and records what the pipeline's fan-out records for an email-routed follow:
 * a `queued` email delivery with no job (the digest collects it).
 */
export async function postQueued(
  ctx: AppContext,
  clock: ManualClock,
  o: { source: SourceRow; text: string; at: string; to: SourceRow; followId: string | null },
): Promise<{ statusId: string; deliveryId: string }> {
  clock.set(o.at);
  const { status } = await postStatus(ctx, { sourceId: o.source.id, text: o.text, platform: 'api' });
  const deliveryId = newId(clock.now().getTime());
  await ctx.db.insert(deliveries).values({
    id: deliveryId,
    event: 'status.created',
    statusId: status.id,
    subscriberKind: 'person',
    subscriberId: o.to.id,
    route: 'email',
    followId: o.followId,
    state: 'queued',
    dedupeKey: `status.created:${status.id}:person:${o.to.id}:email`,
    createdAt: clock.now(),
    updatedAt: clock.now(),
  });
  return { statusId: status.id, deliveryId };
}
