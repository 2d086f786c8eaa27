import type { Logger } from '../../log.js';

/**
 * Which worker holds the one component connection (SPEC section 8): the one holding a PostgreSQL
 * session-level advisory lock on a connection of its own. When the holder dies, PostgreSQL ends its
 * session and frees the lock; another worker's next try (every `pollMs`) takes it over. A holder whose
 * lock connection fails steps down at once (its lock may already be someone else's).
 * Embedded PGlite is one process by construction (its folder is locked): that process always holds it.
 */

/** The postgres.js surface used here (a reserved connection keeps the session that owns the lock). */
interface ReservedSql {
  unsafe(query: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  release(): void;
}
interface PostgresJs {
  reserve(): Promise<ReservedSql>;
}

export interface Leadership {
  readonly leader: boolean;
  stop(): Promise<void>;
}

export interface LeaderOptions {
  /** drizzle's `$client`: postgres.js (a reserve() method) or PGlite. */
  client: unknown;
  /** Names the lock: one holder per component domain and database. */
  name: string;
  log: Logger;
  onAcquire(): Promise<void> | void;
  onLose(): Promise<void> | void;
  pollMs?: number;
}

const isPostgresJs = (c: unknown): c is PostgresJs => typeof (c as { reserve?: unknown } | null)?.reserve === 'function';

/** Two-key advisory lock: a fixed class id for Twitterprise's XMPP, and hashtext(name). */
const LOCK_CLASS = 0x7470; // "tp"

export function startLeadership(opts: LeaderOptions): Leadership {
  const log = opts.log.child({ name: 'xmpp-leader' });
  const pollMs = opts.pollMs ?? 2000;
  let leader = false;
  let stopped = false;
  let conn: ReservedSql | null = null;
  let timer: NodeJS.Timeout | null = null;
  let busy: Promise<void> = Promise.resolve();

  async function lose(why: string): Promise<void> {
    if (!leader) return;
    leader = false;
    log.warn({ why }, 'gave up the XMPP component connection');
    await opts.onLose();
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (!isPostgresJs(opts.client)) {
      if (!leader) {
        leader = true;
        await opts.onAcquire();
      }
      return;
    }
    try {
      if (leader && conn) {
        await conn.unsafe('select 1');
        return;
      }
      conn ??= await opts.client.reserve();
      const [row] = await conn.unsafe('select pg_try_advisory_lock($1::int, hashtext($2)) as ok', [LOCK_CLASS, opts.name]);
      if (row?.ok === true) {
        leader = true;
        log.info({ lock: opts.name }, 'holding the XMPP component connection');
        await opts.onAcquire();
      } else {
        conn.release();
        conn = null;
      }
    } catch (err) {
      const c = conn;
      conn = null;
      try {
        c?.release();
      } catch {
        // The connection is broken already.
      }
      await lose(err instanceof Error ? err.message : String(err));
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      busy = tick().finally(schedule);
    }, pollMs);
  };
  busy = tick().finally(schedule);

  return {
    get leader() {
      return leader;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await busy.catch(() => {});
      await lose('shutting down');
      if (conn) {
        await conn.unsafe('select pg_advisory_unlock($1::int, hashtext($2))', [LOCK_CLASS, opts.name]).catch(() => {});
        conn.release();
        conn = null;
      }
    },
  };
}
