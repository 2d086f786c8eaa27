/**
 * Idle memory of the compiled app (SPEC §6): RSS of the whole process tree 10 s after the ready line.
 *
 *  - `web` and `worker` (the Procfile lines, run as a supervisor runs them: `bash -c "<line>"`) on
 *    PostgreSQL with Slack and Teams configured: each under 200 MB;
 *  - `npm start` on PGlite (npm and node below it), on its first run (which creates the database) and
 *    on a later one: under 400 MB.
 *
 * Runnable alone (`npx tsx bench/idle-memory.ts`); bench/run.ts calls it too. Needs dist/ (it builds
 * when missing or stale, as npm start does), PostgreSQL and Redis as the tests use them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { createTestDatabase, REDIS_URL, testQueuePrefix } from '../test/helpers/db.js';
import { dropPrefix } from '../test/helpers/queues.js';
import { treeOf, treeRssOf } from './memory.js';
import { BOT_TOKEN, SIGNING_SECRET } from './slack.js';
import { mb, table } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IDLE_MS = 10_000;
const MB = 1024 * 1024;

export interface IdleFigure {
  what: string;
  /** Whole-tree RSS 10 s after the ready line, in bytes. */
  rss: number;
  processes: number;
  limit: number;
  /** Seconds from spawn to the ready line. */
  readySeconds: number;
}

function procfileLine(type: string): string {
  const line = readFileSync(path.join(ROOT, 'Procfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${type}:`));
  if (!line) throw new Error(`no ${type} line in the Procfile`);
  return line.slice(type.length + 1).trim();
}

/** Spawns, waits for the ready line, idles 10 s, measures the tree, SIGTERMs it and waits for the exit. */
async function measure(what: string, limit: number, command: string, args: string[], env: Record<string, string>, cwd = ROOT): Promise<IdleFigure> {
  const started = Date.now();
  const child: ChildProcess = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not ready within 300 s:\n${tail.join('\n')}`)), 300_000);
    const onData = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 15) tail.shift();
        if (line.includes('Twitterprise ready')) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${what}: exited before it was ready:\n${tail.join('\n')}`));
    });
  });
  try {
    await ready;
    const readySeconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const rss = treeRssOf(child.pid!);
    const processes = treeOf(child.pid!).length;
    return { what, rss, processes, limit, readySeconds };
  } finally {
    const tree = treeOf(child.pid!);
    child.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, 30_000);
    await exited;
    clearTimeout(killer);
  }
}

/** Builds dist/ first when it is missing or stale (as npm start would), so the timings below are not a build's. */
function build(): void {
  const r = spawnSync(process.execPath, ['-e', "import('./bin/dist-freshness.js').then((m) => process.exit(m.ensureBuilt() ? 0 : 1))"], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('dist/ could not be built');
}

export async function benchIdleMemory(say: (line: string) => void = () => {}): Promise<IdleFigure[]> {
  if (process.env.TWITTERPRISE_NO_BUILD !== '1') build();
  const db = await createTestDatabase();
  const slack = await new FakeSlackApi().start();
  const prefix = testQueuePrefix();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tp-idle-'));
  const figures: IdleFigure[] = [];
  try {
    const configured = {
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: '0',
      LOG_LEVEL: 'warn',
      OUTBOX_DIR: path.join(tmp, 'outbox'),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      MICROSOFT_APP_ID: '00000000-0000-0000-0000-000000000001',
      MICROSOFT_APP_PASSWORD: 'bench-teams-password',
      // The ready line is an info line.
    };
    for (const role of ['web', 'worker']) {
      const f = await measure(`${role} (Procfile, PostgreSQL, Slack + Teams)`, 200 * MB, 'bash', ['-c', procfileLine(role)], { ...configured, LOG_LEVEL: 'info' });
      figures.push(f);
      say(`  ${f.what}: ${mb(f.rss)} in ${f.processes} process(es), ready in ${f.readySeconds.toFixed(1)} s`);
    }
    const cwd = mkdtempSync(path.join(tmp, 'app-'));
    const pglite = { PGLITE_DIR: path.join(cwd, 'data', 'pglite'), QUEUE_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'info', OUTBOX_DIR: path.join(tmp, 'outbox'), TWITTERPRISE_NO_BUILD: '1' };
    for (const run of ['first run', 'second run']) {
      const f = await measure(`npm start (PGlite, ${run})`, 400 * MB, 'npm', ['start'], pglite);
      figures.push(f);
      say(`  ${f.what}: ${mb(f.rss)} in ${f.processes} process(es), ready in ${f.readySeconds.toFixed(1)} s`);
    }
  } finally {
    await slack.stop();
    await db.drop();
    await dropPrefix(prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
  return figures;
}

/** The figures as a table with a pass/fail column. */
export function idleTable(figures: IdleFigure[]): string {
  return table(
    ['process (idle, 10 s after ready)', 'tree RSS', 'processes', 'target', 'ready after', 'passes'],
    figures.map((f) => [f.what, mb(f.rss), String(f.processes), `< ${mb(f.limit)}`, `${f.readySeconds.toFixed(1)} s`, f.rss < f.limit ? 'yes' : 'NO']),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchIdleMemory((l) => process.stdout.write(`${l}\n`)).then(
    (figures) => {
      process.stdout.write(`${idleTable(figures)}\n`);
      process.exit(figures.every((f) => f.rss < f.limit) ? 0 : 1);
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
