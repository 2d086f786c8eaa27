import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * Where Redis is: a URL (`redis://host:6379`, or `redis+unix:` style paths that ioredis reads) or the
 * nodes of a Redis Cluster (`REDIS_CLUSTER=host:port,...`). Every connection of the app is made by
 * `connectRedis`, so a cluster reaches the queues, the workers, the readiness probe and the status budget alike.
 */
export type RedisTarget = string | { readonly cluster: readonly { readonly host: string; readonly port: number }[] };

export type RedisConnection = Redis | Cluster;

/**
 * One connection to the target. For a cluster the per-node options go to `redisOptions` (BullMQ reads
 * `maxRetriesPerRequest` there), while the offline queue and lazy connect are the cluster's own.
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisConnection {
  if (typeof target === 'string') return new Redis(target, options);
  const { lazyConnect, enableOfflineQueue, ...node } = options;
  return new Cluster(
    target.cluster.map((n) => ({ host: n.host, port: n.port })),
    {
      redisOptions: node,
      ...(lazyConnect === undefined ? {} : { lazyConnect }),
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      // Loopback and private nodes announce the addresses they listen on; no NAT mapping is needed.
      slotsRefreshTimeout: 2000,
    },
  );
}

/** Short and credential-free, for logs and the ready line. */
export function describeRedis(target: RedisTarget): string {
  if (typeof target !== 'string') return `cluster ${target.cluster.map((n) => `${n.host}:${n.port}`).join(',')}`;
  try {
    const u = new URL(target);
    if (u.protocol === 'unix:' || u.pathname.endsWith('.sock')) return u.pathname;
    return u.host;
  } catch {
    return target;
  }
}

/** `host:port,host:port` (REDIS_CLUSTER) as nodes; null when a part is not host:port. */
export function parseClusterNodes(value: string): { host: string; port: number }[] | null {
  const nodes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(part);
      if (!m) return null;
      const port = Number(m[2]);
      if (port < 1 || port > 65535) return null;
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    });
  if (nodes.length === 0 || nodes.some((n) => n === null)) return null;
  return nodes as { host: string; port: number }[];
}

/**
 * The key prefix of one queue: `{tp:deliver}` for queue `deliver` under QUEUE_PREFIX `tp`. The braces
 * are a Redis Cluster hash tag: every key of one queue lands in one slot (BullMQ's scripts touch several
 * keys of a queue at once), and each queue has a tag of its own, so the queues spread over the shards.
 * Braces already in QUEUE_PREFIX (the old advice, `{tp}`) are dropped so that tags do not nest.
 */
export function queueKeyPrefix(base: string, queue: string): string {
  return `{${base.replace(/[{}]/g, '')}:${queue}}`;
}
