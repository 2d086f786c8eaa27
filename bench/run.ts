/**
 * `npm run bench`: Twitterprise against the ceilings its users would quote, on this machine, in one run.
 * Every receiver is on 127.0.0.1; the database is a fresh one of the local PostgreSQL, Redis the local one.
 *
 * 1. Fan-out: one status from a service to N webhook endpoints (each its own follow), measured from the
 *    API's 201 to the last delivery received, with the app started by `npm start` (one process tree, as a
 *    new user runs it), beside the raw BullMQ ceiling (bench/raw-bullmq.ts: N no-op jobs added before
 *    processing, one Worker at concurrency 50) on a fresh database of the same Redis. Zero missing, zero
 *    duplicates and every sampled signature valid, or the row says so.
 * 2. Ingest: `POST /api/v1/statuses` from 32 clients (2,000 posts, one service token, STATUS_RATE_LIMIT=0,
 *    one webhook follower so the relay and a delivery run too) beside `pgbench` on the same PostgreSQL
 *    (32 clients, one single-row INSERT per transaction); Slack slash commands acknowledged meanwhile.
 * 3. Scale-out: web + one worker process against web + two (the Procfile's roles), at 100,000 followers,
 *    with each worker's peak RSS (the target is under 300 MB at 100,000).
 * 4. Light load: one post at a time to one follower, post -> delivery.
 *
 *   BENCH_SIZES=10000,100000   followers per fan-out      BENCH_TRIALS=3     trials per size (median ratio counts)
 *   BENCH_WARMUP=1000          untimed jobs / deliveries before each timed run
 *   BENCH_INGEST_POSTS=2000    BENCH_INGEST_CLIENTS=32    BENCH_INGEST_WARMUP=1000 (untimed posts first)    BENCH_E2E_POSTS=200
 *   BENCH_SCALE_N=100000       followers for the one-versus-two-workers runs (0 to skip)
 *   BENCH_PROFILE=1            the app under --cpu-prof in the first trial of each size, top frames printed
 *   BENCH_LOG_LEVEL=warn       LOG_LEVEL of the app processes
 *   BENCH_APP=tsx              run the TypeScript through tsx instead of `npm start` and dist/ (a tree that does not build yet)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { seedWebhookFollowers } from '../test/faults/seed.js';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../test/helpers/db.js';
import { dropPrefix } from '../test/helpers/queues.js';
import { request } from './http-client.js';
import { LeanReceiver } from './receiver.js';
import { cpuMsOfCommands, machineBusyMs, treeCpuMsOf, TreeMemorySampler, treeOf } from './memory.js';
import { monotonicUs, summariseProfile } from './profile.js';
import { BOT_TOKEN, SIGNING_SECRET, signedSlashCommand } from './slack.js';
import { mb, ms, percentile, perSecond, seconds, table } from './stats.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  return Number.isFinite(v) && v >= 0 ? v : fallback;
};
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
const TRIALS = Math.max(1, num('BENCH_TRIALS', 3));
const WARMUP = num('BENCH_WARMUP', 1000);
const INGEST_POSTS = num('BENCH_INGEST_POSTS', 2000);
const INGEST_CLIENTS = Math.max(1, num('BENCH_INGEST_CLIENTS', 32));
const INGEST_WARMUP = num('BENCH_INGEST_WARMUP', 1000);
const E2E_POSTS = num('BENCH_E2E_POSTS', 200);
const SCALE_N = num('BENCH_SCALE_N', 100_000);
const PROFILE = process.env.BENCH_PROFILE === '1';
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const FROM_SOURCE = process.env.BENCH_APP === 'tsx';
/** package.json's scripts: whether there is a build, and the node options `npm start` runs with. */
const SCRIPTS = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
/** A profiled run starts node itself (node refuses --cpu-prof in NODE_OPTIONS), with `npm start`'s options. */
const START_NODE_OPTIONS = (SCRIPTS.start ?? '').split(/\s+/).filter((t) => t.startsWith('--'));
/** BENCH_APP_ENV="K=V K2=V2": extra settings for the app under test (WORKER_CONCURRENCY=16, say). */
const APP_ENV = Object.fromEntries((process.env.BENCH_APP_ENV ?? '').split(/\s+/).flatMap((kv) => { const at = kv.indexOf('='); return at > 0 ? [[kv.slice(0, at), kv.slice(at + 1)]] : []; }));
/** The ceiling's Redis: the same server, a database of its own, flushed before each run. */
const RAW_REDIS_URL = `${REDIS_URL.replace(/\/\d*$/, '')}/9`;
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
/** One in this many deliveries has its signature kept and verified. */
const SAMPLE_EVERY = 97;

const say = (s: string) => process.stdout.write(`${s}\n`);

/** The profile's top frames in the timed window, which is also kept beside it (window.json) for other tools. */
function sayProfile(dir: string, window: { from: number; to: number }): void {
  writeFileSync(path.join(dir, 'window.json'), JSON.stringify(window));
  say(summariseProfile(dir, 25, window).replace(/^/gm, '    '));
}

/** Every child started, so a hard stop leaves none behind. */
const children: ChildProcess[] = [];

/** CPU milliseconds so far of the app's process tree, PostgreSQL, Redis and this process (the receivers and clients). */
function cpuNow(pid: number) {
  const here = process.cpuUsage();
  return { app: treeCpuMsOf(pid), pg: cpuMsOfCommands(['postgres']), redis: cpuMsOfCommands(['redis-server']), here: (here.user + here.system) / 1000 };
}

/** Milliseconds of CPU each used since `from`. */
function cpuSince(pid: number, from: ReturnType<typeof cpuNow>) {
  const now = cpuNow(pid);
  return { app: now.app - from.app, pg: now.pg - from.pg, redis: now.redis - from.redis, here: now.here - from.here };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A process of the app: `npm start`, or a Procfile role, with its whole tree stopped by SIGTERM. */
interface App {
  proc: ChildProcess;
  url: string | null;
  output: string[];
  stop(): Promise<void>;
}

function spawnApp(cmd: string, args: string[], env: Record<string, string>): App {
  const proc = spawn(cmd, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const output: string[] = [];
  const keep = (b: Buffer) => {
    for (const line of b.toString('utf8').split('\n')) if (line && output.length < 2000) output.push(line);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    url: env.PORT && env.PORT !== '0' ? `http://127.0.0.1:${env.PORT}` : null,
    output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const tree = treeOf(proc.pid!);
      proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const pid of tree) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, 40_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The compiled app where it is built (production's way), else TypeScript through tsx. */
/** The Procfile's command for a role, run with this node (`node <options> dist/main.js <role>`); from source, tsx runs src/main.ts instead. */
function roleCommand(role: 'web' | 'worker'): [string, string[]] {
  const line = readFileSync(path.join(ROOT, 'Procfile'), 'utf8').split('\n').find((l) => l.startsWith(`${role}:`));
  const args = (line ? line.slice(role.length + 1).trim() : `node dist/main.js ${role}`).split(/\s+/).slice(1);
  if (FROM_SOURCE || !existsSync(path.join(ROOT, 'dist/main.js'))) args.splice(args.indexOf('dist/main.js'), 1, '--import', 'tsx', 'src/main.ts');
  return [process.execPath, args];
}

async function waitReady(app: App, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (app.proc.exitCode !== null) throw new Error(`the app exited with ${app.proc.exitCode}:\n${app.output.slice(-15).join('\n')}`);
    const r = await request(`${app.url}/readyz`, { method: 'GET', timeoutMs: 2000 }).catch(() => null);
    if (r?.status === 200) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`the app was not ready within ${timeoutMs} ms:\n${app.output.slice(-15).join('\n')}`);
}

/** The raw BullMQ ceiling for `n` no-op jobs, in a child process. */
function runRaw(n: number): Promise<{ ms: number; addMs: number; machineMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/raw-bullmq.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', N: String(n), WARMUP: String(WARMUP), CONCURRENCY: '50', REDIS_URL: RAW_REDIS_URL, TIMEOUT_MS: String(Math.max(60_000, n * 5)) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(120_000, n * 10));
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as { ms: number; addMs: number; done: number; machineMs: number };
        if (r.done < n) reject(new Error(`raw BullMQ run finished ${r.done} of ${n} jobs`));
        else resolve(r);
      } catch {
        reject(new Error(`raw BullMQ run exited with ${code}: ${out.slice(0, 500)}`));
      }
    });
  });
}

/** Waits for `target` deliveries; gives up after `timeoutMs`, or when nothing arrives for `stallMs`. */
async function waitForDeliveries(receiver: LeanReceiver, target: number, timeoutMs: number, stallMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let lastChange = Date.now();
  while (receiver.unique < target) {
    if (receiver.unique !== last) {
      last = receiver.unique;
      lastChange = Date.now();
    }
    if (Date.now() > deadline || Date.now() - lastChange > stallMs) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

async function postStatus(url: string, token: string, text: string): Promise<number> {
  const r = await request(`${url}/api/v1/statuses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  return r.status;
}

/** Sampled signatures that verify, of those kept. */
function verifySamples(receiver: LeanReceiver): { checked: number; valid: number } {
  const wh = new Webhook(SECRET);
  let valid = 0;
  for (const s of receiver.samples) {
    try {
      wh.verify(s.body, { 'webhook-id': s.id, 'webhook-timestamp': s.timestamp, 'webhook-signature': s.signature });
      valid++;
    } catch {
      // counted as invalid
    }
  }
  return { checked: receiver.samples.length, valid };
}

/**
 * `pgbench`: 32 clients, one single-row INSERT per transaction, on the same PostgreSQL. Answers its
 * transactions per second and the machine's busy CPU microseconds per transaction (PostgreSQL and
 * pgbench together).
 */
async function pgbench(dbUrl: string, clients: number, secondsToRun: number): Promise<{ tps: number; machineUs: number }> {
  const u = new URL(dbUrl);
  const psql = (sql: string) => run('psql', ['-h', u.hostname, '-p', u.port || '5432', '-U', u.username || 'postgres', '-d', u.pathname.slice(1), '-qc', sql]);
  await psql('create table if not exists bench_insert (id bigserial primary key, text text not null, created_at timestamptz not null default now())');
  const script = path.join(os.tmpdir(), `tp-pgbench-${randomBytes(4).toString('hex')}.sql`);
  writeFileSync(script, "insert into bench_insert (text) values ('ingest comparison #load');\n");
  try {
    const busy0 = machineBusyMs();
    const { stdout } = await run('pgbench', ['-h', u.hostname, '-p', u.port || '5432', '-U', u.username || 'postgres', '-n', '-c', String(clients), '-j', '2', '-T', String(secondsToRun), '-f', script, u.pathname.slice(1)]);
    const busy = machineBusyMs() - busy0;
    const tps = /tps = ([\d.]+)/.exec(stdout);
    if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
    const done = /number of transactions actually processed: (\d+)/.exec(stdout);
    const transactions = done ? Number(done[1]) : Number(tps[1]) * secondsToRun;
    return { tps: Number(tps[1]), machineUs: (busy * 1000) / Math.max(1, transactions) };
  } finally {
    rmSync(script, { force: true });
    await psql('drop table bench_insert');
  }
}

interface FanOutTrial {
  ms: number;
  received: number;
  repeats: number;
  peakRss: number;
  rawMs: number;
  timedOut: boolean;
  signatures: { checked: number; valid: number };
}

const ratioOf = (n: number, t: FanOutTrial): number => t.received / t.ms / (n / t.rawMs);

function medianTrial(n: number, trials: FanOutTrial[]): FanOutTrial {
  const sorted = [...trials].sort((a, b) => ratioOf(n, a) - ratioOf(n, b));
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

async function main(): Promise<void> {
  const started = Date.now();
  const prefix = `tpbench${randomBytes(4).toString('hex')}`;
  const outboxDir = path.join(os.tmpdir(), `tp-bench-${prefix}`);
  // Each profiled run writes into a folder of its own (fanout-10000, ingest), kept under BENCH_PROFILE_DIR when given.
  const profileRoot = process.env.BENCH_PROFILE_DIR || path.join(os.tmpdir(), `tp-bench-profiles-${prefix}`);
  const freshProfileDir = (name: string): string => {
    const dir = path.join(profileRoot, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  let db: TestDatabase | null = null;
  let receiver: LeanReceiver | null = null;
  let slack: FakeSlackApi | null = null;
  const apps: App[] = [];
  const fanOuts: { n: number; trials: FanOutTrial[] }[] = [];
  const scale: { workers: number; perSecond: number; received: number; n: number; workerPeak: number }[] = [];
  let ingest: { accepted: number; errors: number; seconds: number; lat: number[]; slash: number[]; slashErrors: number; pgTps: number; delivered: number; machineUs: number; pgMachineUs: number } | null = null;
  const e2e: number[] = [];

  say(`Twitterprise benchmark: ${os.cpus().length} cores, Node ${process.version}, fan-out sizes ${SIZES.join(', ')}, ${TRIALS} trial(s) each`);
  try {
    if (!FROM_SOURCE && SCRIPTS.build) {
      say('building (npm run build)...');
      await run('npm', ['run', '--silent', 'build'], { cwd: ROOT });
    }
    db = await createTestDatabase();
    receiver = await LeanReceiver.start({ ports: 8, sampleEvery: SAMPLE_EVERY });
    slack = await new FakeSlackApi().start();
    slack.addUser({ id: 'U1', name: 'bench', real_name: 'Bench User', tz: 'UTC', profile: { email: 'bench@corp.example', real_name: 'Bench User' } });
    const port = await freePort();
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ALLOW_PRIVATE_URLS: 'true',
      // Ingest measures how fast statuses are accepted, so no per-token budget.
      STATUS_RATE_LIMIT: '0',
      LOG_LEVEL,
      OUTBOX_DIR: outboxDir,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      ...APP_ENV,
    };
    /** `npm start`, or with `profileDir` what it runs (bin/start.js, its node options) under --cpu-prof. */
    const startNpm = async (profileDir: string | null = null): Promise<App> => {
      const prof = profileDir ? [...START_NODE_OPTIONS, '--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
      const app = FROM_SOURCE
        ? spawnApp(process.execPath, [...prof, '--import', 'tsx', 'src/main.ts', 'all'], env)
        : profileDir
          ? spawnApp(process.execPath, [...prof, 'bin/start.js', 'all'], env)
          : spawnApp('npm', ['start'], env);
      apps.push(app);
      // `npm start` builds first when dist/ is older than src/.
      await waitReady(app, 300_000);
      return app;
    };
    const warm = WARMUP > 0 ? await seedWebhookFollowers(db.db, { handle: 'warmup', n: WARMUP, urlOf: (i) => receiver!.url(10_000_000 + i), secret: SECRET }) : null;
    const warmUp = async (app: App, what: string) => {
      if (!warm) return;
      receiver!.reset();
      if ((await postStatus(app.url!, warm.serviceToken, `warm-up before ${what} #bench`)) !== 201) throw new Error('the warm-up post failed');
      if (!(await waitForDeliveries(receiver!, WARMUP, 60_000))) throw new Error('the warm-up deliveries did not all arrive');
    };

    // 1. Fan-out beside the raw ceiling, raw and app taking turns.
    for (const n of SIZES) {
      say(`\nfan-out to ${n.toLocaleString('en')} webhook followers: seeding...`);
      const seeded = await seedWebhookFollowers(db.db, { handle: `fan${n}`, n, urlOf: (i) => receiver!.url(i), secret: SECRET });
      const trials: FanOutTrial[] = [];
      fanOuts.push({ n, trials });
      for (let trial = 1; trial <= TRIALS; trial++) {
        const raw = await runRaw(n);
        say(`  trial ${trial}: raw BullMQ ${seconds(raw.ms)} (${perSecond((n * 1000) / raw.ms)}; adding took ${seconds(raw.addMs)})`);
        const profileDir = PROFILE && trial === 1 ? freshProfileDir(`fanout-${n}`) : null;
        const app = await startNpm(profileDir);
        await warmUp(app, `${n}`);
        receiver.reset();
        const sampler = new TreeMemorySampler(app.proc.pid!);
        const cpu0 = cpuNow(app.proc.pid!);
        const busy0 = machineBusyMs();
        const status = await postStatus(app.url!, seeded.serviceToken, `fan-out ${trial} of ${n} #bench`);
        const t201 = performance.now();
        const t201Us = monotonicUs();
        if (status !== 201) throw new Error(`POST /api/v1/statuses answered ${status}`);
        const ok = await waitForDeliveries(receiver, n, Math.max(120_000, n * 10));
        const elapsed = (ok ? receiver.lastAt : performance.now()) - t201;
        const peakRss = sampler.stop();
        const busy = (x: number) => (x / elapsed).toFixed(2);
        const cpu = cpuSince(app.proc.pid!, cpu0);
        const machineMs = machineBusyMs() - busy0;
        const appCpu = cpu.app;
        const t: FanOutTrial = { ms: elapsed, received: receiver.unique, repeats: receiver.repeats, peakRss, rawMs: raw.ms, timedOut: !ok, signatures: verifySamples(receiver) };
        trials.push(t);
        say(`    app: ${ok ? '' : `TIMED OUT with ${receiver.unique} of ${n}; `}${seconds(elapsed)}, ${perSecond((receiver.unique * 1000) / elapsed)}, npm start tree peak ${mb(peakRss)}; ratio ${ratioOf(n, t).toFixed(3)}; first delivery ${ms(receiver.firstAt - t201)} after the 201`);
        say(`    cores busy: app ${busy(appCpu)}, PostgreSQL ${busy(cpu.pg)}, Redis ${busy(cpu.redis)}, receivers ${busy(cpu.here)}; app CPU per delivery ${((appCpu * 1000) / Math.max(1, receiver.unique)).toFixed(0)} us; signatures ${t.signatures.valid}/${t.signatures.checked} valid; repeats ${t.repeats}`);
        say(`    the whole machine: ${busy(machineMs)} of ${os.cpus().length} cores busy, ${((machineMs * 1000) / Math.max(1, receiver.unique)).toFixed(0)} us per delivery; raw BullMQ ${(raw.machineMs / raw.ms).toFixed(2)} cores, ${((raw.machineMs * 1000) / n).toFixed(0)} us per job`);
        await app.stop();
        if (profileDir) sayProfile(profileDir, { from: t201Us, to: t201Us + elapsed * 1000 });
      }
    }

    // 2. Ingest beside pgbench, with slash commands acknowledged meanwhile.
    if (INGEST_POSTS > 0) {
      // The fan-outs before leave hundreds of thousands of new and updated rows, and autovacuum would take
      // PostgreSQL's core from pgbench and the app alike (0.7-0.9 of a core in one run): settle them first.
      if (fanOuts.length) await db.db.execute(sql`vacuum analyze`);
      say(`\ningest: pgbench (${INGEST_CLIENTS} clients, one single-row INSERT per transaction, 10 s)...`);
      const { tps: pgTps, machineUs: pgMachineUs } = await pgbench(db.url, INGEST_CLIENTS, 10);
      say(`  pgbench: ${perSecond(pgTps)}; the machine busy ${pgMachineUs.toFixed(0)} us per transaction (PostgreSQL and pgbench)`);
      const profileDir = PROFILE ? freshProfileDir('ingest') : null;
      const app = await startNpm(profileDir);
      const one = await seedWebhookFollowers(db.db, { handle: 'ingest', n: 1, urlOf: () => receiver!.url(20_000_000), secret: SECRET });
      await warmUp(app, 'ingest');
      // Untimed posts first, as a running app has had them (the ceilings get their warm-up too): the first
      // thousand requests are JIT compilation and each connection preparing each statement once.
      if (INGEST_WARMUP > 0) {
        receiver.reset();
        let w = 0;
        await Promise.all(Array.from({ length: INGEST_CLIENTS }, async () => {
          while (w < INGEST_WARMUP) {
            w++;
            await postStatus(app.url!, one.serviceToken, `warm-up ${w} #load`).catch(() => 0);
          }
        }));
        await waitForDeliveries(receiver, INGEST_WARMUP, 60_000);
      }
      receiver.reset();
      const slash = async (): Promise<number | null> => {
        const { body, headers } = signedSlashCommand('whois @ingest', 'U1', slack!.responseUrl('bench'));
        const t = performance.now();
        const r = await request(`${app.url}/slack/events`, { method: 'POST', headers, body, timeoutMs: 10_000 });
        return r.status === 200 ? performance.now() - t : null;
      };
      say(`  app: ${INGEST_POSTS} posts from ${INGEST_CLIENTS} clients, a slash command every 50 ms...`);
      const lat: number[] = [];
      const slashLat: number[] = [];
      let accepted = 0;
      let errors = 0;
      let slashErrors = 0;
      let next = 0;
      let running = true;
      const t0 = performance.now();
      const t0Us = monotonicUs();
      const cpu0 = cpuNow(app.proc.pid!);
      const busy0 = machineBusyMs();
      const clients = Array.from({ length: INGEST_CLIENTS }, async () => {
        while (next < INGEST_POSTS) {
          const i = next++;
          const t = performance.now();
          const status = await postStatus(app.url!, one.serviceToken, `ingest ${i} #load`).catch(() => 0);
          if (status === 201) {
            accepted++;
            lat.push(performance.now() - t);
          } else errors++;
        }
      });
      const slashLoop = (async () => {
        while (running) {
          const t = await slash().catch(() => null);
          if (t === null) slashErrors++;
          else slashLat.push(t);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await Promise.all(clients);
      const took = (performance.now() - t0) / 1000;
      const posting = cpuSince(app.proc.pid!, cpu0);
      const machineUs = ((machineBusyMs() - busy0) * 1000) / Math.max(1, accepted);
      const cores = { app: posting.app / (took * 1000), pg: posting.pg / (took * 1000), redis: posting.redis / (took * 1000), clients: posting.here / (took * 1000) };
      running = false;
      await slashLoop;
      // Accepted means delivered: every accepted status reaches the one follower before anything else runs.
      const delivered = (await waitForDeliveries(receiver, accepted, 120_000)) ? accepted : receiver.unique;
      const endToEndCpuUs = (cpuSince(app.proc.pid!, cpu0).app * 1000) / Math.max(1, delivered);
      const lastDeliveryS = (receiver.lastAt - t0) / 1000;
      ingest = { accepted, errors, seconds: took, lat, slash: slashLat, slashErrors, pgTps, delivered, machineUs, pgMachineUs };
      say(`  ${accepted} accepted in ${took.toFixed(2)} s (${perSecond(accepted / took)}), ${errors} errors, ${delivered} delivered; p50 ${ms(percentile(lat, 50))}, p99 ${ms(percentile(lat, 99))}; ratio to pgbench ${(accepted / took / pgTps).toFixed(3)}`);
      say(`    cores busy while posting: app ${cores.app.toFixed(2)}, PostgreSQL ${cores.pg.toFixed(2)}, Redis ${cores.redis.toFixed(2)}, the bench's clients ${cores.clients.toFixed(2)}; app CPU per status ${((cores.app * took * 1e6) / Math.max(1, accepted)).toFixed(0)} us while posting, ${endToEndCpuUs.toFixed(0)} us from the first post to the last delivery (${lastDeliveryS.toFixed(2)} s after the first post, ${perSecond(delivered / lastDeliveryS)} delivered)`);

      // 4. Light load on the same app: one post at a time to one follower.
      if (E2E_POSTS > 0) {
        say(`\nlight load: ${E2E_POSTS} posts, one at a time...`);
        await waitForDeliveries(receiver, 1, 10_000);
        const single = await seedWebhookFollowers(db.db, { handle: 'e2e', n: 1, urlOf: () => receiver!.url(30_000_000), secret: SECRET });
        await new Promise((r) => setTimeout(r, 2000));
        receiver.reset();
        for (let i = 0; i < E2E_POSTS; i++) {
          const t = performance.now();
          if ((await postStatus(app.url!, single.serviceToken, `light ${i}`)) !== 201) throw new Error('a light-load post failed');
          if (!(await waitForDeliveries(receiver, i + 1, 10_000, 10_000))) break;
          e2e.push(receiver.lastAt - t);
        }
        say(`  p50 ${ms(percentile(e2e, 50))}, p99 ${ms(percentile(e2e, 99))}`);
      }
      await app.stop();
      if (profileDir) sayProfile(profileDir, { from: t0Us, to: t0Us + took * 1e6 });
    }

    // 3. One worker process against two (web + workers, the Procfile's roles), alternating.
    if (SCALE_N > 0) {
      say(`\nscale-out: web + 1 worker against web + 2 workers, ${SCALE_N.toLocaleString('en')} followers...`);
      const seeded = await seedWebhookFollowers(db.db, { handle: 'scale', n: SCALE_N, urlOf: (i) => receiver!.url(40_000_000 + i), secret: SECRET });
      for (const workers of [1, 2, 1, 2]) {
        const [webCmd, webArgs] = roleCommand('web');
        const [workerCmd, workerArgs] = roleCommand('worker');
        const web = spawnApp(webCmd, webArgs, env);
        apps.push(web);
        await waitReady(web);
        const ws = Array.from({ length: workers }, () => spawnApp(workerCmd, workerArgs, { ...env, PORT: '0' }));
        apps.push(...ws);
        await new Promise((r) => setTimeout(r, 3000));
        await warmUp(web, 'scale-out');
        receiver.reset();
        const samplers = ws.map((w) => new TreeMemorySampler(w.proc.pid!));
        const cpu0 = ws.map((w) => cpuNow(w.proc.pid!));
        if ((await postStatus(web.url!, seeded.serviceToken, `scale ${workers} #bench`)) !== 201) throw new Error('the scale-out post failed');
        const t = performance.now();
        await waitForDeliveries(receiver, SCALE_N, Math.max(120_000, SCALE_N * 10));
        const elapsed = receiver.lastAt - t;
        const cpu = ws.map((w, i) => cpuSince(w.proc.pid!, cpu0[i]!));
        const workerPeak = Math.max(...samplers.map((m) => m.stop()));
        scale.push({ workers, perSecond: (receiver.unique * 1000) / elapsed, received: receiver.unique, n: SCALE_N, workerPeak });
        await waitForDeliveries(receiver, SCALE_N, 1000);
        say(`  ${workers} worker(s): ${perSecond((receiver.unique * 1000) / elapsed)} (${receiver.unique} of ${SCALE_N}, repeats ${receiver.repeats}); worker RSS peak ${mb(workerPeak)}`);
        // PostgreSQL, Redis and the receivers are machine-wide: any worker's reading of them serves.
        const busy = (x: number) => (x / elapsed).toFixed(2);
        say(`    cores busy: worker(s) ${cpu.map((c) => busy(c.app)).join(' + ')}, PostgreSQL ${busy(cpu[0]!.pg)}, Redis ${busy(cpu[0]!.redis)}, receivers ${busy(cpu[0]!.here)}`);
        await Promise.all(ws.map((w) => w.stop()));
        await web.stop();
      }
    }
  } finally {
    await Promise.all(apps.map((a) => a.stop()));
    await receiver?.close();
    await slack?.stop();
    await db?.drop().catch(() => {});
    await dropPrefix(prefix).catch(() => {});
    rmSync(outboxDir, { recursive: true, force: true });
    if (!process.env.BENCH_PROFILE_DIR) rmSync(profileRoot, { recursive: true, force: true });
  }

  say(`\n=== Twitterprise benchmark (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'}; ${Math.round((Date.now() - started) / 1000)} s) ===\n`);
  say(
    table(
      ['followers', 'app (npm start) deliveries/s', 'raw BullMQ jobs/s', 'ratio (median)', 'ratios of the trials', 'tree peak RSS', 'missing', 'repeats', 'signatures valid'],
      fanOuts.map(({ n, trials }) => {
        const m = medianTrial(n, trials);
        const sig = trials.reduce((a, t) => ({ checked: a.checked + t.signatures.checked, valid: a.valid + t.signatures.valid }), { checked: 0, valid: 0 });
        return [
          n.toLocaleString('en'),
          `${perSecond((m.received * 1000) / m.ms)}${m.timedOut ? ' (timed out)' : ''}`,
          perSecond((n * 1000) / m.rawMs),
          ratioOf(n, m).toFixed(3),
          trials.map((t) => ratioOf(n, t).toFixed(2)).join(', '),
          mb(Math.max(...trials.map((t) => t.peakRss))),
          String(trials.reduce((a, t) => a + (n - t.received), 0)),
          String(trials.reduce((a, t) => a + t.repeats, 0)),
          `${sig.valid} of ${sig.checked}`,
        ];
      }),
    ),
  );
  if (ingest) {
    say('');
    say(
      table(
        ['ingest (32 clients)', 'value'],
        [
          ['app statuses accepted', `${ingest.accepted} in ${ingest.seconds.toFixed(2)} s (${perSecond(ingest.accepted / ingest.seconds)}), ${ingest.errors} errors, ${ingest.delivered} delivered`],
          ['pgbench, single-row INSERT', perSecond(ingest.pgTps)],
          ['ratio', (ingest.accepted / ingest.seconds / ingest.pgTps).toFixed(3)],
          ['machine CPU per status / per pgbench insert', `${ingest.machineUs.toFixed(0)} us / ${ingest.pgMachineUs.toFixed(0)} us (all processes, all cores, while posting)`],
          ['POST latency p50 / p99', `${ms(percentile(ingest.lat, 50))} / ${ms(percentile(ingest.lat, 99))}`],
          ['slash ack p50 / p99 under load', `${ms(percentile(ingest.slash, 50))} / ${ms(percentile(ingest.slash, 99))} (${ingest.slash.length} commands, ${ingest.slashErrors} errors)`],
        ],
      ),
    );
  }
  if (e2e.length) say(`\nlight load post -> delivery: p50 ${ms(percentile(e2e, 50))}, p99 ${ms(percentile(e2e, 99))} (${e2e.length} posts)`);
  if (scale.length) {
    say('');
    say(table(['scale-out', 'deliveries/s', 'worker RSS peak'], scale.map((s) => [`web + ${s.workers} worker(s), ${s.n.toLocaleString('en')}`, `${perSecond(s.perSecond)}${s.received < s.n ? ` (${s.received} of ${s.n})` : ''}`, mb(s.workerPeak)])));
  }

  // The other doors' own figures, each skippable (BENCH_XMPP=0, BENCH_IDLE=0, BENCH_INPUTS=0); loaded only when run.
  if (process.env.BENCH_XMPP !== '0') {
    const x = await (await import('./xmpp.js')).benchXmpp(() => {});
    say(`\nxmpp deliveries to one app: ${perSecond(x.received / x.seconds)} (${x.received} of ${x.statuses}, ${x.duplicates} duplicates)`);
  }
  if (process.env.BENCH_IDLE !== '0') {
    const idle = await import('./idle-memory.js');
    say(`\nidle memory (SPEC §6):\n${idle.idleTable(await idle.benchIdleMemory())}`);
  }
  if (process.env.BENCH_INPUTS !== '0') {
    const x = await (await import('./inputs.js')).benchInputs(() => {});
    say(`\ninputs: ${perSecond(x.pollsPerSecond)} polls of ${x.inputs} inputs answered 304 (sweeper ${perSecond(x.sweepPerSecond)})`);
  }
  const verdict = (ok: boolean | null) => (ok === null ? 'NOT RUN' : ok ? 'PASS' : 'MISS');
  const at = (n: number) => fanOuts.find((f) => f.n === n);
  const fanTarget = (n: number): [string, string, boolean | null] => {
    const f = at(n);
    if (!f) return [`fan-out ${n.toLocaleString('en')} >= 0.5 x raw BullMQ`, 'not run', null];
    const m = medianTrial(n, f.trials);
    const clean = f.trials.every((t) => !t.timedOut && t.received === n && t.signatures.valid === t.signatures.checked);
    return [`fan-out ${n.toLocaleString('en')} >= 0.5 x raw BullMQ`, ratioOf(n, m).toFixed(3), clean && ratioOf(n, m) >= 0.5];
  };
  const tenK = at(10_000);
  const targets: [string, string, boolean | null][] = [
    fanTarget(10_000),
    fanTarget(100_000),
    ['npm start tree at the 10,000 fan-out < 450 MB', tenK ? mb(Math.max(...tenK.trials.map((t) => t.peakRss))) : 'not run', tenK ? Math.max(...tenK.trials.map((t) => t.peakRss)) < 450 * 1024 * 1024 : null],
    [
      `worker RSS at the ${SCALE_N.toLocaleString('en')} fan-out < 300 MB`,
      scale.length ? mb(Math.max(...scale.map((x) => x.workerPeak))) : 'not run',
      scale.length ? SCALE_N >= 100_000 && scale.every((x) => x.received === x.n) && Math.max(...scale.map((x) => x.workerPeak)) < 300 * 1024 * 1024 : null,
    ],
    ['ingest >= 0.15 x pgbench', ingest ? (ingest.accepted / ingest.seconds / ingest.pgTps).toFixed(3) : 'not run', ingest ? ingest.accepted / ingest.seconds / ingest.pgTps >= 0.15 : null],
    ['ingest p99 < 100 ms', ingest ? ms(percentile(ingest.lat, 99)) : 'not run', ingest ? percentile(ingest.lat, 99) < 100 && ingest.errors === 0 && ingest.delivered === ingest.accepted : null],
    ['slash ack p99 < 200 ms under ingest', ingest ? ms(percentile(ingest.slash, 99)) : 'not run', ingest && ingest.slash.length ? percentile(ingest.slash, 99) < 200 && ingest.slashErrors === 0 : null],
    ['light-load post -> delivery p99 < 250 ms', e2e.length ? ms(percentile(e2e, 99)) : 'not run', e2e.length ? e2e.length === E2E_POSTS && percentile(e2e, 99) < 250 : null],
  ];
  say('');
  say(table(['target', 'measured', 'result'], targets.map(([t, m, ok]) => [t, m, verdict(ok)])));
}

const hardStop = setTimeout(() => {
  process.stderr.write('benchmark: hard time limit (90 minutes) reached\n');
  for (const c of children) c.kill('SIGKILL');
  process.exit(2);
}, 90 * 60_000);
hardStop.unref();

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
  },
);
