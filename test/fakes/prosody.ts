import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A throwaway Prosody (Debian package `prosody` 0.12) on 127.0.0.1: a generated config in a temp folder,
 * random free ports for client (c2s) and component connections, one VirtualHost and the component
 * `tp.<domain>` with its secret. Not a fake: the real server, so the component handshake, rosters,
 * subscriptions, offline storage and stream errors are Prosody's own.
 */

export const PROSODY_PACKAGES = 'prosody lua5.4-event lua-unbound';

/** Whether `prosody` and `prosodyctl` are on PATH. */
export function prosodyInstalled(): boolean {
  return ['prosody', 'prosodyctl'].every((bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Prosody {
  /** The VirtualHost users live on, e.g. `xmpp.test`. */
  domain: string;
  /** The component's domain, `tp.<domain>`. */
  componentDomain: string;
  secret: string;
  c2sPort: number;
  componentPort: number;
  /** `xmpp://127.0.0.1:<component port>`, for XMPP_SERVICE. */
  componentService: string;
  /** `xmpp://127.0.0.1:<c2s port>`, for @xmpp/client. */
  clientService: string;
  register(user: string, password: string): void;
  /** Stops the server (SIGTERM) and waits for it to exit. Data (rosters, offline messages) stays. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
  log(): string;
}

export async function startProsody(opts: { domain?: string } = {}): Promise<Prosody> {
  const domain = opts.domain ?? 'xmpp.test';
  const componentDomain = `tp.${domain}`;
  const secret = `secret-${Math.random().toString(36).slice(2)}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-prosody-'));
  const [c2sPort, componentPort] = [await freePort(), await freePort()];
  mkdirSync(path.join(dir, 'data'));
  mkdirSync(path.join(dir, 'certs'));
  const cfg = path.join(dir, 'prosody.cfg.lua');
  const q = (s: string) => JSON.stringify(s);
  writeFileSync(
    cfg,
    [
      'daemonize = false',
      'run_as_root = true',
      `pidfile = ${q(path.join(dir, 'prosody.pid'))}`,
      `data_path = ${q(path.join(dir, 'data'))}`,
      `certificates = ${q(path.join(dir, 'certs'))}`,
      `log = { { levels = { min = "${process.env.PROSODY_LOG ?? 'info'}" }, to = "file", filename = ${q(path.join(dir, 'prosody.log'))} } }`,
      'interfaces = { "127.0.0.1" }',
      `c2s_ports = { ${c2sPort} }`,
      `component_ports = { ${componentPort} }`,
      'component_interfaces = { "127.0.0.1" }',
      's2s_ports = {}',
      'c2s_direct_tls_ports = {}',
      'http_ports = {}',
      'https_ports = {}',
      'modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "offline"; "posix" }',
      'modules_disabled = { "s2s" }',
      'c2s_require_encryption = false',
      'allow_unencrypted_plain_auth = true',
      'authentication = "internal_plain"',
      'storage = "internal"',
      `VirtualHost ${q(domain)}`,
      `Component ${q(componentDomain)}`,
      `  component_secret = ${q(secret)}`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;

  async function start(): Promise<void> {
    const p = spawn('prosody', ['--config', cfg], { cwd: dir, stdio: 'ignore' });
    child = p;
    const deadline = Date.now() + 15_000;
    while (!(await portOpen(c2sPort)) || !(await portOpen(componentPort))) {
      if (p.exitCode !== null) throw new Error(`prosody exited (${p.exitCode}): ${readLog()}`);
      if (Date.now() > deadline) throw new Error(`prosody did not listen within 15 s: ${readLog()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function stop(): Promise<void> {
    const p = child;
    child = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  const readLog = () => {
    try {
      return readFileSync(path.join(dir, 'prosody.log'), 'utf8');
    } catch {
      return '';
    }
  };

  await start();
  return {
    domain,
    componentDomain,
    secret,
    c2sPort,
    componentPort,
    componentService: `xmpp://127.0.0.1:${componentPort}`,
    clientService: `xmpp://127.0.0.1:${c2sPort}`,
    register(user, password) {
      const r = spawnSync('prosodyctl', ['--config', cfg, 'register', user, domain, password], { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`prosodyctl register ${user}: ${r.stderr || r.stdout}`);
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log: readLog,
  };
}
