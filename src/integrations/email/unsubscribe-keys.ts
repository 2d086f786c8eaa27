import type { AppContext } from '../../app/context.js';
import { randomSecret, storedValue } from '../../app/secrets.js';
import type { UnsubscribeKeyring } from './unsubscribe-token.js';

/**
 * The keys of one-click unsubscribe links (docs/security.md, class 3).
 *
 * - New links are signed with UNSUBSCRIBE_SECRET when it is set, else with a random key generated on
 *   first start and kept in `app_secrets` (`unsubscribe_key`): nothing about it can be guessed from the
 *   configuration.
 * - Links of the first format were signed with `tp-unsub:<ADMIN_TOKEN>:<DATABASE_URL or PGLITE_DIR>`.
 *   Without ADMIN_TOKEN that key was made of constants and a path, so anyone could forge them: those
 *   links stop working (their page says to use the next digest's link or `digest off`). With a real
 *   ADMIN_TOKEN they keep working for LEGACY_GRACE_DAYS after the first start of this version, which is
 *   recorded once (`unsubscribe_v1_until`); old links carry no date of their own. Links of the first
 *   format signed with UNSUBSCRIBE_SECRET keep working for as long as that secret is set.
 */
export const LEGACY_GRACE_DAYS = 30;

interface Stored {
  key: string;
  legacyUntil: Date;
}

const stored = new WeakMap<object, Promise<Stored>>();

function load(ctx: Pick<AppContext, 'db' | 'clock'>): Promise<Stored> {
  let p = stored.get(ctx.db);
  if (!p) {
    p = (async () => {
      const key = await storedValue(ctx.db, 'unsubscribe_key', randomSecret);
      const until = await storedValue(ctx.db, 'unsubscribe_v1_until', () => new Date(ctx.clock.now().getTime() + LEGACY_GRACE_DAYS * 86_400_000).toISOString());
      return { key: key.value, legacyUntil: new Date(until.value) };
    })();
    // A failed load (database down) is tried again next time.
    p.catch(() => stored.delete(ctx.db));
    stored.set(ctx.db, p);
  }
  return p;
}

/** Creates the key (and starts the 30 days) if this is the first start; call it at start-up. */
export async function ensureUnsubscribeKeys(ctx: Pick<AppContext, 'db' | 'clock'>): Promise<void> {
  await load(ctx);
}

export async function unsubscribeKeys(ctx: Pick<AppContext, 'db' | 'clock' | 'config'>): Promise<UnsubscribeKeyring> {
  const { key, legacyUntil } = await load(ctx);
  const c = ctx.config;
  const where = c.databaseUrl ?? c.pgliteDir;
  const forgeable = `tp-unsub::${where}`;
  const fromAdmin = c.adminToken ? `tp-unsub:${c.adminToken}:${where}` : null;
  const inGrace = ctx.clock.now().getTime() < legacyUntil.getTime();
  return {
    current: c.unsubscribeSecret ?? key,
    legacyAccepted: [...(c.unsubscribeSecret ? [c.unsubscribeSecret] : []), ...(fromAdmin && inGrace ? [fromAdmin] : [])],
    legacyRetired: [forgeable, ...(fromAdmin && !inGrace ? [fromAdmin] : [])],
  };
}
