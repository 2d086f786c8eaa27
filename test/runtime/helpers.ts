import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from '../../bin/dist-freshness.js';
import { treeOf } from '../../bench/memory.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * dist/ built from this src/ (the Procfile runs it). Test files share one build: the first takes a lock
 * folder, the others wait for it. A type error elsewhere does not stop the build (tsc still emits);
 * `npm run build` itself fails on one, which `.ci/run`'s typecheck reports.
 */
export async function ensureDist(): Promise<void> {
  const lock = path.join(ROOT, 'dist.building');
  for (let i = 0; i < 600; i++) {
    if (!staleReason()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another file builds; a lock older than five minutes was left by a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      if (!staleReason()) return;
      const startedAt = new Date();
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
      spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' });
      if (!existsSync(path.join(ROOT, 'dist/main.js'))) throw new Error('tsc emitted no dist/main.js');
      const stamp = path.join(ROOT, 'dist/.build-stamp');
      writeFileSync(stamp, `${startedAt.toISOString()}\n`);
      utimesSync(stamp, startedAt, startedAt);
      return;
    } finally {
      rmdirSync(lock);
    }
  }
  throw new Error('dist/ was not built within five minutes');
}

/** The environment of a child: only what we set (no Slack or Teams variables of the caller). */
export function cleanEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', STATUS_RATE_LIMIT: '0', ...env };
}

export interface Proc {
  proc: ChildProcess;
  pid: number;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line matching `re` (throws after `timeoutMs`, or when the process exits first). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit; SIGKILLs the whole tree and throws after `timeoutMs`. */
  waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every process below (and including) this one, now. */
  tree(): number[];
  /** SIGKILL to the whole tree (afterAll). */
  killTree(): Promise<void>;
}

/** The text of a pino line's message, or the line itself when it is not JSON. */
export function messageOf(line: string): string {
  try {
    const msg = (JSON.parse(line) as { msg?: unknown }).msg;
    return typeof msg === 'string' ? msg : line;
  } catch {
    return line;
  }
}

/** Runs `command args` and collects its output lines (stdout and stderr). */
export function run(command: string, args: string[], opts: { cwd?: string; env: Record<string, string> }): Proc {
  const proc = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let partial = { out: '', err: '' };
  const onData = (key: 'out' | 'err') => (buf: Buffer) => {
    const text = partial[key] + buf.toString('utf8');
    const parts = text.split('\n');
    partial = { ...partial, [key]: parts.pop() ?? '' };
    for (const line of parts) {
      if (!line) continue;
      if (lines.length < 20_000) lines.push(line);
      for (const w of [...waiters]) {
        if (!w.re.test(line)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  proc.stdout!.on('data', onData('out'));
  proc.stderr!.on('data', onData('err'));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      // The last line may lack its newline.
      for (const rest of [partial.out, partial.err]) if (rest) lines.push(rest);
      resolve({ code, signal });
    }),
  );
  let lastTree: number[] = [proc.pid!];
  const self: Proc = {
    proc,
    pid: proc.pid!,
    lines,
    exited,
    waitForLine(re, timeoutMs = 60_000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms:\n${lines.slice(-15).join('\n')}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          const late = lines.find((l) => re.test(l));
          if (late) resolve(late);
          else reject(new Error(`exited (${signal ?? code}) with no line matching ${re}:\n${lines.slice(-15).join('\n')}`));
        });
      });
    },
    async waitExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
      const r = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (r === 'late') {
        await self.killTree();
        throw new Error(`did not exit within ${timeoutMs} ms:\n${lines.slice(-15).join('\n')}`);
      }
      return r;
    },
    tree() {
      if (proc.exitCode === null && proc.signalCode === null) lastTree = treeOf(proc.pid!);
      return lastTree;
    },
    async killTree() {
      for (const pid of self.tree()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
  return self;
}

/** A Procfile line as a supervisor runs it: `bash -c "<line>"`. */
export function runLine(line: string, opts: { cwd?: string; env: Record<string, string> }): Proc {
  return run('bash', ['-c', line], opts);
}

/** The Procfile's lines by process type. */
export async function procfile(): Promise<Record<string, string>> {
  const { readFileSync } = await import('node:fs');
  const out: Record<string, string> = {};
  for (const line of readFileSync(path.join(ROOT, 'Procfile'), 'utf8').split('\n')) {
    const m = /^([a-z]+):\s*(.+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Is a process with this pid still there (a zombie counts as gone)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const { readFileSync } = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Waits (up to `timeoutMs`) until none of `pids` is alive; returns those still alive. */
export async function survivors(pids: number[], timeoutMs = 3000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(alive);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(alive);
  }
  return left;
}
