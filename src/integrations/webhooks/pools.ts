import { isIP } from 'node:net';
import { Pool } from 'undici';
import { bareHost, type ResolvedAddress } from './ssrf-guard.js';

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
  /** Least recently used first (a Map keeps insertion order; a use moves its pool to the end). */
  private readonly pools = new Map<string, Pool>();

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
    let pool = this.pools.get(key);
    if (pool) {
      this.pools.delete(key);
      this.pools.set(key, pool);
      return pool;
    }
    while (this.pools.size >= this.max) {
      const [oldestKey, oldest] = this.pools.entries().next().value as [string, Pool];
      this.pools.delete(oldestKey);
      void oldest.close().catch(() => undefined);
    }
    const servername = url.protocol === 'https:' && isIP(bareHost(url)) === 0 ? bareHost(url) : undefined;
    pool = new Pool(origin, { connections: 32, keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, ...(servername ? { connect: { servername } } : {}) });
    this.pools.set(key, pool);
    return pool;
  }
}
