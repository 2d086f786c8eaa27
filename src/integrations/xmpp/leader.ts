import type { Logger } from '../../log.js';

/**
 * Which worker holds the one component connection (SPEC section 8): the one holding a PostgreSQL
 * session-level advisory lock on a connection of its own. When the holder dies, PostgreSQL ends its
 * session and frees the lock; another worker's next try (every `pollMs`) takes it over. A holder whose
 * lock connection fails steps down at once (its lock may already be someone else's).
 * The lock lives on a connection of its own, outside the app's pool, so losing it costs the app nothing;
 * each check also compares the backend pid, so a connection the driver silently replaced cannot pass for
 * the one that holds the lock.
 * Embedded PGlite is one process by construction (its folder is locked): that process always holds it.
 */

/** The postgres.js surface used here (a reserved connection keeps the session that owns the lock). */
interface ReservedSql {
  unsafe(query: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  release(): void;
}
interface PostgresJs {
  reserve(): Promise<ReservedSql>;
  end(opts?: { timeout?: number }): Promise<void>;
}

export interface Leadership {
  readonly leader: boolean;
  stop(): Promise<void>;
}

export interface LeaderOptions {
  /** DATABASE_URL; undefined for embedded PGlite (one process: always the holder). */
  databaseUrl: string | undefined;
  /** Names the lock: one holder per component domain and database. */
  name: string;
  log: Logger;
  onAcquire(): Promise<void> | void;
  onLose(): Promise<void> | void;
  pollMs?: number;
}

/** Two-key advisory lock: a fixed class id for Twitterprise's XMPP, and hashtext(name). */
const LOCK_CLASS = 0x7470; // "tp"

export function startLeadership(opts: LeaderOptions): Leadership {
  const log = opts.log.child({ name: 'xmpp-leader' });
  const pollMs = opts.pollMs ?? 2000;
  let leader = false;
  let stopped = false;
  let client: PostgresJs | null = null;
  let conn: ReservedSql | null = null;
  let pid: unknown = null;
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
    if (!opts.databaseUrl) {
      if (!leader) {
        leader = true;
        await opts.onAcquire();
      }
      return;
    }
    try {
      if (leader && conn) {
        const [now] = await conn.unsafe('select pg_backend_pid() as pid');
        if (now?.pid !== pid) throw new Error('the lock connection was replaced');
        return;
      }
      if (!client) {
        const { default: postgres } = await import('postgres');
        client = postgres(opts.databaseUrl, { max: 1, connect_timeout: 5, idle_timeout: 0, onnotice: () => {} }) as unknown as PostgresJs;
      }
      conn ??= await client.reserve();
      const [row] = await conn.unsafe('select pg_try_advisory_lock($1::int, hashtext($2)) as ok, pg_backend_pid() as pid', [LOCK_CLASS, opts.name]);
      if (row?.ok === true) {
        pid = row.pid;
        leader = true;
        log.info({ lock: opts.name }, 'holding the XMPP component connection');
        await opts.onAcquire();
      } else {
        conn.release();
        conn = null;
      }
    } catch (err) {
      // Start afresh: a new client, a new session, at the next try.
      const c = client;
      conn = null;
      client = null;
      await c?.end({ timeout: 1 }).catch(() => {});
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
      if (conn) await conn.unsafe('select pg_advisory_unlock($1::int, hashtext($2))', [LOCK_CLASS, opts.name]).catch(() => {});
      conn = null;
      await client?.end({ timeout: 2 }).catch(() => {});
      client = null;
    },
  };
}
