import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { until } from './processes.js';

const run = promisify(execFile);

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (port + 10000, Redis's rule) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 9000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

/**
 * A real three-node Redis Cluster on loopback (the machine's `redis-server`, three masters, no
 * replicas), made for one test file and removed after it. Nothing is kept on disk beyond the node
 * files in a temporary folder.
 */
export class OwnRedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly procs: ChildProcess[],
    private readonly dir: string,
  ) {}

  static async start(nodes = 3): Promise<OwnRedisCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tp-redis-cluster-'));
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < nodes; i++) ports.push(await clusterPort(taken));
    const procs = ports.map((port) =>
      spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-config-file', `nodes-${port}.conf`,
          '--cluster-node-timeout', '5000',
          '--dir', dir,
          '--save', '',
          '--appendonly', 'no',
          '--maxmemory-policy', 'noeviction',
          '--logfile', '',
        ],
        { stdio: 'ignore' },
      ),
    );
    const cluster = new OwnRedisCluster(ports, procs, dir);
    try {
      for (const port of ports) {
        await until(async () => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'])).stdout.includes('PONG'), 10_000, `cluster node ${port}`);
      }
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
      await until(
        async () => {
          const info = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(ports[0]), 'cluster', 'info']);
          return info.stdout.includes('cluster_state:ok');
        },
        20_000,
        'cluster_state:ok',
      );
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** The REDIS_CLUSTER value for these nodes. */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  client(): Cluster {
    return new Cluster(this.ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: null } });
  }

  /** The ports of the masters that hold keys matching `pattern` (SCAN on each node). */
  async nodesHolding(pattern: string): Promise<number[]> {
    const holding: number[] = [];
    for (const port of this.ports) {
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--scan', '--pattern', pattern]);
      if (stdout.trim()) holding.push(port);
    }
    return holding;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
