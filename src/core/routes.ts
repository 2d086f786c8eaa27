import type { FollowRoute, Route, SubscriberKind } from './types.js';

/**
 * A follow's routes (SPEC section 1): a person's follow may deliver over several of dm, email, sms (and
 * xmpp) at once. `follows.route` stores them as one '+'-joined string in a fixed order (`dm`, `dm+email`,
 * `dm+sms`, `email+sms`, ...); a channel's follow is `channel`, a webhook endpoint's `webhook`. The legacy
 * value `both` is still read as `dm+email`. Pure helpers, no I/O.
 */

export type { FollowRoute };

/**
 * The routes a person's follow may combine, with their place in the canonical string. Adding a route to
 * the `Route` union that a person may choose means adding it here (and nowhere else in this file).
 */
const PERSON_ROUTE_RANK = { dm: 0, email: 1, sms: 2, xmpp: 3 } as const satisfies Partial<Record<Route, number>>;

export type PersonRoute = keyof typeof PERSON_ROUTE_RANK;

/** In canonical order. */
export const PERSON_ROUTES = (Object.keys(PERSON_ROUTE_RANK) as PersonRoute[]).sort((a, b) => PERSON_ROUTE_RANK[a] - PERSON_ROUTE_RANK[b]);

/** What a person's follow delivers over when nobody said. */
export const DEFAULT_ROUTE: FollowRoute = 'dm';

const LEGACY: Readonly<Record<string, readonly PersonRoute[]>> = { both: ['dm', 'email'] };

export const isPersonRoute = (s: string): s is PersonRoute => Object.prototype.hasOwnProperty.call(PERSON_ROUTE_RANK, s);

/** Person routes deduplicated, in canonical order, as the stored string (`['sms', 'dm']` -> `dm+sms`). */
export function formatRoutes(routes: readonly PersonRoute[]): FollowRoute {
  const set = [...new Set(routes)].sort((a, b) => PERSON_ROUTE_RANK[a] - PERSON_ROUTE_RANK[b]);
  return set.length ? set.join('+') : DEFAULT_ROUTE;
}

/**
 * A stored route -> its person routes (`both` -> dm, email). `channel`, `webhook` and anything unknown
 * give []: they are not a person's choice.
 */
export function personRoutesOf(route: FollowRoute): PersonRoute[] {
  const legacy = LEGACY[route];
  if (legacy) return [...legacy];
  const parts = route.split('+').filter(isPersonRoute);
  return PERSON_ROUTES.filter((r) => parts.includes(r));
}

/** A stored route in canonical form (`both` -> `dm+email`, `sms+dm` -> `dm+sms`); `channel`/`webhook` unchanged. */
export function canonicalRoute(route: FollowRoute): FollowRoute {
  const p = personRoutesOf(route);
  return p.length ? formatRoutes(p) : route;
}

export const hasRoute = (route: FollowRoute, r: PersonRoute): boolean => personRoutesOf(route).includes(r);

/** The route with `r` added (`dm` + sms -> `dm+sms`). */
export const addRoute = (route: FollowRoute, r: PersonRoute): FollowRoute => formatRoutes([...personRoutesOf(route), r]);

/** The route without `r`; null when nothing would be left. */
export function removeRoute(route: FollowRoute, r: PersonRoute): FollowRoute | null {
  const rest = personRoutesOf(route).filter((x) => x !== r);
  return rest.length ? formatRoutes(rest) : null;
}

/** Where one follow's deliveries travel: one delivery per route (`dm+sms` -> a DM and a text). */
export function deliveryRoutes(subscriberKind: SubscriberKind, route: FollowRoute): Route[] {
  if (subscriberKind === 'channel') return ['channel'];
  if (subscriberKind === 'webhook') return ['webhook'];
  // An XMPP address not linked to anyone receives by XMPP only (SPEC section 8).
  if (subscriberKind === 'xmpp') return ['xmpp'];
  const p = personRoutesOf(route);
  return p.length ? p : ['dm'];
}

export type RouteSpecResult = { ok: true; routes: PersonRoute[] } | { ok: false; bad: string };

/**
 * What a person wrote (`dm`, `both`, `dm+sms`, `sms + email`) or an API list (`["dm", "sms"]`) -> person
 * routes. `bad` names the first part that is not a route.
 */
export function parseRouteSpec(spec: string | readonly string[]): RouteSpecResult {
  const parts = (typeof spec === 'string' ? spec.split('+') : spec).map((s) => s.trim().toLowerCase());
  const out: PersonRoute[] = [];
  for (const part of parts) {
    const legacy = LEGACY[part];
    if (legacy) out.push(...legacy);
    else if (isPersonRoute(part)) out.push(part);
    else return { ok: false, bad: part };
  }
  if (!out.length) return { ok: false, bad: typeof spec === 'string' ? spec : '' };
  return { ok: true, routes: PERSON_ROUTES.filter((r) => out.includes(r)) };
}

/** `dm, email or sms` for sentences. */
export function routeChoicesText(joiner = 'or'): string {
  const all = [...PERSON_ROUTES];
  return all.length > 1 ? `${all.slice(0, -1).join(', ')} ${joiner} ${all[all.length - 1]}` : (all[0] ?? '');
}
