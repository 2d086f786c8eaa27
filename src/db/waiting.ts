import { and, eq, type SQL } from 'drizzle-orm';
import type { Route } from '../core/types.js';
import { deliveries } from './schema.js';

/**
 * A person's status deliveries still waiting on one route: email ones for the digest, DMs held by quiet
 * hours for the release. Both read them with their statuses and follows, and add their own limits.
 */
export function waitingStatusDeliveries(personId: string, route: Route): SQL {
  return and(
    eq(deliveries.subscriberKind, 'person'),
    eq(deliveries.subscriberId, personId),
    eq(deliveries.route, route),
    eq(deliveries.state, 'queued'),
    eq(deliveries.event, 'status.created'),
  )!;
}
