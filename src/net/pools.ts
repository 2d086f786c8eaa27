import { isIP } from 'node:net';
import { Pool } from 'undici';
import { bareHost, type ResolvedAddress } from './address-guard.js';

/**
 * Keep-alive connection pools (undici), one per checked address and host name: the pool's origin is
 * the address the guard approved, so a socket only ever goes there, while the name still goes in
 * Host and in TLS SNI and the certificate check. undici costs about two thirds of node:http's CPU per
 * request, and webhook sends are most of a fan-out's work (docs/benchmarks.md). Idle sockets are
 * unref'd (they never hold a draining process) and closed after 4 s, before the 5 s after which Node
 * servers drop an idle connection, so a reused socket is rarely one the receiver is closing.
 *
 * At most `max` pools are kept: past that the least recently used one is closed gracefully, so the
 * requests it still carries finish (a fan-out to thousands of hosts used to destroy every pool at
 * once, and with them the sends in flight, which then had to be retried).
 */
export class Pools {
  /** Each pool with the tick of its last use (a hit only writes a number; the scan for the least recent runs only to evict). */
  private readonly pools = new Map<string, { pool: Pool; used: number }>();
  private tick = 0;

  private readonly max: number;

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  get size(): number {
    return this.pools.size;
  }

  for(url: URL, pinned: ResolvedAddress): Pool {
    const host = pinned.family === 6 ? `[${pinned.address}]` : pinned.address;
    const origin = `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`;
    const key = `${origin}/${url.hostname}`;
    const hit = this.pools.get(key);
    if (hit) {
      hit.used = ++this.tick;
      return hit.pool;
    }
    while (this.pools.size >= this.max) this.evictLeastRecent();
    const servername = url.protocol === 'https:' && isIP(bareHost(url)) === 0 ? bareHost(url) : undefined;
    const pool = new Pool(origin, { connections: 32, keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, ...(servername ? { connect: { servername } } : {}) });
    this.pools.set(key, { pool, used: ++this.tick });
    return pool;
  }

  private evictLeastRecent(): void {
    let oldest: [string, { pool: Pool; used: number }] | null = null;
    for (const entry of this.pools) if (!oldest || entry[1].used < oldest[1].used) oldest = entry;
    if (!oldest) return;
    this.pools.delete(oldest[0]);
    void oldest[1].pool.close().catch(() => undefined);
  }
}
