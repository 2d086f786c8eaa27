import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { queueKeyPrefix } from '../src/pipeline/queues.js';
import { describeRedis, parseClusterNodes } from '../src/redis.js';

describe('REDIS_CLUSTER', () => {
  it('reads host:port lists, IPv6 in brackets included, and refuses anything else', () => {
    expect(parseClusterNodes('127.0.0.1:7000, 127.0.0.1:7001,redis-c:7002')).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
      { host: 'redis-c', port: 7002 },
    ]);
    expect(parseClusterNodes('[::1]:7000')).toEqual([{ host: '::1', port: 7000 }]);
    for (const bad of ['', '127.0.0.1', '127.0.0.1:', 'a:b', '127.0.0.1:70000', 'redis://127.0.0.1:7000']) expect(parseClusterNodes(bad), bad).toBeNull();
  });

  it('is used instead of REDIS_URL when set, and a malformed one stops start-up naming the variable', () => {
    expect(parseConfig({ REDIS_CLUSTER: '127.0.0.1:7000,127.0.0.1:7001' }).redis).toEqual({ cluster: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }] });
    expect(parseConfig({ REDIS_URL: 'redis://127.0.0.1:6390' }).redis).toBe('redis://127.0.0.1:6390');
    expect(() => parseConfig({ REDIS_CLUSTER: 'nodes please' })).toThrow(/REDIS_CLUSTER: must be host:port/);
  });

  it('is described without credentials', () => {
    expect(describeRedis('redis://:secret@redis.internal:6379/0')).toBe('redis.internal:6379');
    expect(describeRedis({ cluster: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }] })).toBe('cluster 127.0.0.1:7000,127.0.0.1:7001');
  });
});

describe('queueKeyPrefix', () => {
  it('gives each queue a hash tag of its own, and does not nest the braces of an older {tp} prefix', () => {
    expect(queueKeyPrefix('tp', 'deliver')).toBe('{tp:deliver}');
    expect(queueKeyPrefix('{tp}', 'fan-out')).toBe('{tp:fan-out}');
    expect(new Set(['fan-out', 'deliver', 'deliver-batch'].map((q) => queueKeyPrefix('tp', q))).size).toBe(3);
  });
});
