import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import type { AppContext } from '../../src/app/context.js';
import { createApiToken } from '../../src/app/tokens.js';
import { parseConfig } from '../../src/config.js';
import { systemClock } from '../../src/core/clock.js';
import { newId } from '../../src/core/ids.js';
import type { Db } from '../../src/db/client.js';
import { follows, serviceOwners, sources, webhooks } from '../../src/db/schema.js';

/** A context for writing through the app layer from a test (the relay of a child process picks the outbox up). */
export function directContext(db: Db, env: Record<string, string>): AppContext {
  return { db, config: parseConfig({ LOG_LEVEL: 'silent', ...env }), log: pino({ level: 'silent' }), clock: systemClock, kick: () => {} };
}

export interface Seeded {
  ownerId: string;
  serviceId: string;
  /** API token of the service (posts as it). */
  serviceToken: string;
  webhookIds: string[];
}

/**
 * A service `@handle` with `n` webhook endpoints following it, endpoint i at `urlOf(i)`, all with
 * `secret`. Inserted in bulk (one statement per 5,000 rows) so 100,000 followers take seconds.
 */
export async function seedWebhookFollowers(db: Db, opts: { handle: string; n: number; urlOf: (i: number) => string; secret: string }): Promise<Seeded> {
  const ownerId = newId();
  const serviceId = newId();
  await db.insert(sources).values([
    { id: ownerId, handle: `${opts.handle}-owner`, kind: 'person', name: 'Owner', email: `${opts.handle}-owner@corp.example` },
    { id: serviceId, handle: opts.handle, kind: 'service', name: `${opts.handle} service` },
  ]);
  await db.insert(serviceOwners).values({ serviceId, personId: ownerId });
  // A follower is a separate person owning one endpoint, so no endpoint belongs to the source's owners.
  const webhookIds: string[] = [];
  const chunk = 5000;
  for (let start = 0; start < opts.n; start += chunk) {
    const count = Math.min(chunk, opts.n - start);
    const people = Array.from({ length: count }, (_, k) => ({
      id: newId(),
      handle: `${opts.handle}-f${start + k}`,
      kind: 'person' as const,
      name: `Follower ${start + k}`,
      email: `${opts.handle}-f${start + k}@corp.example`,
    }));
    await db.insert(sources).values(people);
    const hooks = people.map((p, k) => ({ id: newId(), ownerId: p.id, url: opts.urlOf(start + k), secret: opts.secret }));
    await db.insert(webhooks).values(hooks);
    await db.insert(follows).values(
      hooks.map((h) => ({ id: newId(), subscriberKind: 'webhook' as const, subscriberId: h.id, targetKind: 'source' as const, target: serviceId, state: 'active' as const, route: 'webhook' as const })),
    );
    webhookIds.push(...hooks.map((h) => h.id));
  }
  await db.execute(sql`analyze`);
  const serviceToken = await createApiToken({ db }, serviceId);
  return { ownerId, serviceId, serviceToken, webhookIds };
}
