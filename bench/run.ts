/**
 * `npm run bench`: fan-out, ingest and end-to-end latency of Twitterprise on this machine, against the
 * local PostgreSQL (a fresh database) and Redis (a fresh key prefix), with the web and worker roles as
 * child processes and every receiver on 127.0.0.1. Prints a table and PASS/MISS per target; stops by
 * itself (every wait is bounded) and cleans up after itself.
 *
 *   BENCH_SIZES=1000,10000,100000   followers per fan-out run
 *   BENCH_INGEST_SECONDS=10         ingest duration; BENCH_INGEST_CLIENTS=32 concurrent clients
 *   BENCH_E2E_POSTS=200             light-load posts, one at a time
 *   BENCH_TRIALS=3                  timed fan-outs per size, each after its own raw run; the median ratio counts
 *   BENCH_WARMUP=500                untimed deliveries (and raw jobs) before each timed run; 0 for a cold worker
 *   BENCH_CONCURRENCY=32            WORKER_CONCURRENCY of the worker and of the raw BullMQ run
 *   BENCH_PROFILE=1                 run the fan-out worker under --cpu-prof (first trial of each size) and summarise the top frames
 *   BENCH_LOG_LEVEL=warn            LOG_LEVEL of the app processes
 *   BENCH_WORKER_NODE_ARGS=...      node flags for the worker (default: the Procfile's; '' for none)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { startApp, waitForWorkers, type AppProcess } from '../test/faults/processes.js';
import { seedWebhookFollowers } from '../test/faults/seed.js';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../test/helpers/db.js';
import { dropPrefix } from '../test/helpers/queues.js';
import { request } from './http-client.js';
import { LeanReceiver } from './receiver.js';
import { cpuMsOf, cpuMsOfCommands, MemorySampler } from './memory.js';
import { monotonicUs, summariseProfile } from './profile.js';
import { BOT_TOKEN, SIGNING_SECRET, signedSlashCommand } from './slack.js';
import { mb, ms, percentile, perSecond, seconds, table } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 10);
const INGEST_CLIENTS = Number(process.env.BENCH_INGEST_CLIENTS ?? 32);
const E2E_POSTS = Number(process.env.BENCH_E2E_POSTS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Untimed deliveries (and raw jobs) first, so both are measured warm, as a running worker is. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);
const PROFILE = process.env.BENCH_PROFILE === '1';
const TRIALS = Math.max(1, Number(process.env.BENCH_TRIALS ?? 3) || 1);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? '--max-old-space-size=128 --max-semi-space-size=16').split(/\s+/).filter(Boolean);
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

const say = (s: string) => process.stdout.write(`${s}\n`);

/** Every child started, so a hard stop leaves none behind. */
const children: { kill(signal: NodeJS.Signals): unknown }[] = [];
const track = <T extends { kill(signal: NodeJS.Signals): unknown }>(c: T): T => {
  children.push(c);
  return c;
};

/** One timed fan-out and the raw run just before it. */
interface FanOutTrial {
  ms: number;
  received: number;
  repeats: number;
  peakRss: number;
  rawMs: number;
  timedOut: boolean;
}

interface FanOutResult {
  n: number;
  trials: FanOutTrial[];
}

/** Pipeline deliveries per second over raw jobs per second. */
const ratioOf = (n: number, t: FanOutTrial): number => t.received / t.ms / (n / t.rawMs);

const peakOf = (f: FanOutResult): number => Math.max(...f.trials.map((t) => t.peakRss));

/** The trial with the median ratio (nearest rank): what a size's row reports. */
function medianTrial(f: FanOutResult): FanOutTrial {
  const sorted = [...f.trials].sort((a, b) => ratioOf(f.n, a) - ratioOf(f.n, b));
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The raw BullMQ ceiling for `n` no-op jobs, in a child process like the worker. */
function runRaw(n: number, prefix: string): Promise<{ ms: number; maxRss: number }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, ['--import', 'tsx', 'bench/raw-bullmq.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', N: String(n), WARMUP: String(WARMUP), CONCURRENCY: String(CONCURRENCY), PREFIX: prefix, REDIS_URL, TIMEOUT_MS: String(Math.max(60_000, n * 5)) },
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(120_000, n * 10));
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line) as { ms: number; done: number; maxRss: number };
        if (r.done < n) reject(new Error(`raw BullMQ run finished ${r.done} of ${n} jobs`));
        else resolve({ ms: r.ms, maxRss: r.maxRss });
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
    await new Promise((r) => setTimeout(r, 20));
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

async function stop(app: AppProcess | null): Promise<void> {
  if (!app || app.proc.exitCode !== null || app.proc.signalCode !== null) return;
  app.kill('SIGTERM');
  await app.waitExit(30_000).catch(() => {});
}

async function main(): Promise<void> {
  const started = Date.now();
  const prefix = `tpbench${randomBytes(4).toString('hex')}`;
  const profileDir = path.join(os.tmpdir(), `tp-bench-profiles-${prefix}`);
  const webProfileDir = path.join(os.tmpdir(), `tp-bench-profiles-${prefix}-web`);
  const outboxDir = path.join(os.tmpdir(), `tp-bench-${prefix}`);
  let db: TestDatabase | null = null;
  let receiver: LeanReceiver | null = null;
  let slack: FakeSlackApi | null = null;
  let web: AppProcess | null = null;
  let worker: AppProcess | null = null;
  const fanOuts: FanOutResult[] = [];
  let ingest: { accepted: number; errors: number; seconds: number; lat: number[]; slash: number[]; slashIdle: number[]; slashErrors: number } | null = null;
  const e2e: number[] = [];

  say(`Twitterprise benchmark: ${os.cpus().length} cores, Node ${process.version}, sizes ${SIZES.join(', ')}, ${TRIALS} trial(s) each, worker concurrency ${CONCURRENCY}${WORKER_NODE_ARGS.length ? `, worker flags ${WORKER_NODE_ARGS.join(' ')}` : ''}`);
  try {
    db = await createTestDatabase();
    receiver = await LeanReceiver.start({ ports: 8 });
    slack = await new FakeSlackApi().start();
    slack.addUser({ id: 'U1', name: 'bench', real_name: 'Bench User', tz: 'UTC', profile: { email: 'bench@corp.example', real_name: 'Bench User' } });
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      PORT: String(await freePort()),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WORKER_CONCURRENCY: String(CONCURRENCY),
      // Ingest measures how fast statuses are accepted, so no per-token budget.
      STATUS_RATE_LIMIT: '0',
      LOG_LEVEL,
      OUTBOX_DIR: outboxDir,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
    };
    if (PROFILE) {
      rmSync(webProfileDir, { recursive: true, force: true });
      mkdirSync(webProfileDir, { recursive: true });
    }
    web = track(await startApp('web', env, { readyTimeoutMs: 60_000, nodeArgs: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${webProfileDir}`] : [] }));
    const workerEnv = { ...env, PORT: '0' };

    // 1. Fan-out, beside the raw BullMQ ceiling. Each fresh worker first delivers one untimed status to
    // WARMUP other endpoints (compiling its code, opening its connections), as a running worker has.
    const warm = WARMUP > 0 ? await seedWebhookFollowers(db.db, { handle: 'warmup', n: WARMUP, urlOf: (i) => receiver!.url(10_000_000 + i), secret: SECRET }) : null;
    for (const n of SIZES) {
      say(`\nfan-out to ${n.toLocaleString('en')} webhook followers: seeding...`);
      const seeded = await seedWebhookFollowers(db.db, { handle: `fan${n}`, n, urlOf: (i) => receiver!.url(i), secret: SECRET });
      const result: FanOutResult = { n, trials: [] };
      fanOuts.push(result);
      // Raw and pipeline take turns, so a slow spell of this shared machine hits both sides of a ratio.
      for (let trial = 1; trial <= TRIALS; trial++) {
        say(`  trial ${trial} of ${TRIALS}: raw BullMQ ceiling (no-op jobs)...`);
        const raw = await runRaw(n, `${prefix}raw`);
        say(`    raw: ${seconds(raw.ms)}, ${perSecond((n * 1000) / raw.ms)}`);
        const profiled = PROFILE && trial === 1;
        if (profiled) {
          rmSync(profileDir, { recursive: true, force: true });
          mkdirSync(profileDir, { recursive: true });
        }
        worker = track(await startApp('worker', workerEnv, { nodeArgs: [...WORKER_NODE_ARGS, ...(profiled ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])] }));
        await waitForWorkers(REDIS_URL, prefix, 1, 60_000);
        const sampler = new MemorySampler(worker.pid);
        if (warm) {
          receiver.reset();
          if ((await postStatus(web.url!, warm.serviceToken, `warm-up before ${n} #bench`)) !== 201) throw new Error('the warm-up post failed');
          if (!(await waitForDeliveries(receiver, WARMUP, 60_000))) throw new Error('the warm-up deliveries did not all arrive');
        }
        receiver.reset();
        const cpu0 = { worker: cpuMsOf(worker.pid), here: process.cpuUsage(), pg: cpuMsOfCommands(['postgres']), redis: cpuMsOfCommands(['redis-server']) };
        const status = await postStatus(web.url!, seeded.serviceToken, `fan-out ${trial} of ${n} #bench`);
        const t201 = performance.now();
        const t201Us = monotonicUs();
        if (status !== 201) throw new Error(`POST /api/v1/statuses answered ${status}`);
        const ok = await waitForDeliveries(receiver, n, Math.max(120_000, n * 10));
        const elapsed = (ok ? receiver.lastAt : performance.now()) - t201;
        const peakRss = sampler.stop();
        const workerCpu = (cpuMsOf(worker.pid) - cpu0.worker) / elapsed;
        const hereUsage = process.cpuUsage(cpu0.here);
        const receiverCpu = (hereUsage.user + hereUsage.system) / 1000 / elapsed;
        const pgCpu = (cpuMsOfCommands(['postgres']) - cpu0.pg) / elapsed;
        const redisCpu = (cpuMsOfCommands(['redis-server']) - cpu0.redis) / elapsed;
        await stop(worker);
        worker = null;
        const t: FanOutTrial = { ms: elapsed, received: receiver.unique, repeats: receiver.repeats, peakRss, rawMs: raw.ms, timedOut: !ok };
        result.trials.push(t);
        say(`    pipeline: ${ok ? '' : `TIMED OUT with ${receiver.unique} of ${n}; `}${seconds(elapsed)}, ${perSecond((receiver.unique * 1000) / elapsed)}, worker peak ${mb(peakRss)}; ratio ${ratioOf(n, t).toFixed(2)}`);
        say(`    first delivery ${ms(receiver.firstAt - t201)} after the 201`);
        // Cores busy while it ran: the worker, and this process (the receivers and the wait loop).
        say(`    cores busy: worker ${workerCpu.toFixed(2)}, receivers ${receiverCpu.toFixed(2)}, PostgreSQL ${pgCpu.toFixed(2)}, Redis ${redisCpu.toFixed(2)}; worker CPU per delivery ${((workerCpu * elapsed * 1000) / Math.max(1, receiver.unique)).toFixed(0)} us`);
        if (profiled) say(summariseProfile(profileDir, 25, { from: t201Us, to: t201Us + elapsed * 1000 }).replace(/^/gm, '    '));
      }
    }

    // 2. Ingest, with signed Slack slash commands acknowledged meanwhile.
    worker = track(await startApp('worker', workerEnv, { nodeArgs: WORKER_NODE_ARGS }));
    await waitForWorkers(REDIS_URL, prefix, 1, 60_000);
    const quiet = await seedWebhookFollowers(db.db, { handle: 'ingest', n: 0, urlOf: () => '', secret: SECRET });
    const slash = async (): Promise<number | null> => {
      const { body, headers } = signedSlashCommand('whois @ingest', 'U1', slack!.responseUrl('bench'));
      const t = performance.now();
      const r = await request(`${web!.url}/slack/events`, { method: 'POST', headers, body, timeoutMs: 10_000 });
      return r.status === 200 ? performance.now() - t : null;
    };
    say(`\ningest: ${INGEST_CLIENTS} clients for ${INGEST_SECONDS} s, slash commands every 50 ms...`);
    const slashIdle: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = await slash();
      if (t !== null) slashIdle.push(t);
    }
    const lat: number[] = [];
    const slashLat: number[] = [];
    let accepted = 0;
    let errors = 0;
    let slashErrors = 0;
    const t0 = performance.now();
    const end = t0 + INGEST_SECONDS * 1000;
    const clients = Array.from({ length: INGEST_CLIENTS }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        const status = await postStatus(web!.url!, quiet.serviceToken, `ingest ${c}-${i} #load`).catch(() => 0);
        if (status === 201) {
          accepted++;
          lat.push(performance.now() - t);
        } else errors++;
      }
    });
    const slashLoop = (async () => {
      while (performance.now() < end) {
        const t = await slash().catch(() => null);
        if (t === null) slashErrors++;
        else slashLat.push(t);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await Promise.all([...clients, slashLoop]);
    const took = (performance.now() - t0) / 1000;
    ingest = { accepted, errors, seconds: took, lat, slash: slashLat, slashIdle, slashErrors };
    say(`  ${accepted} accepted (${perSecond(accepted / took)}), ${errors} errors; p50 ${ms(percentile(lat, 50))}, p99 ${ms(percentile(lat, 99))}; slash ack p99 ${ms(percentile(slashLat, 99))}`);

    // 3. End-to-end latency at light load: one post at a time to one webhook follower.
    say(`\nend-to-end: ${E2E_POSTS} posts, one at a time...`);
    await new Promise((r) => setTimeout(r, 2000));
    const e2eFollower = 10_000_000;
    const one = await seedWebhookFollowers(db.db, { handle: 'e2e', n: 1, urlOf: () => receiver!.url(e2eFollower), secret: SECRET });
    receiver.reset();
    for (let i = 0; i < E2E_POSTS; i++) {
      const t = performance.now();
      const status = await postStatus(web.url!, one.serviceToken, `light ${i}`);
      if (status !== 201) throw new Error(`POST answered ${status}`);
      const got = await waitForDeliveries(receiver, i + 1, 10_000, 10_000);
      if (!got) {
        say(`  delivery ${i} did not arrive within 10 s; stopping the latency run`);
        break;
      }
      e2e.push(receiver.lastAt - t);
    }
    say(`  p50 ${ms(percentile(e2e, 50))}, p99 ${ms(percentile(e2e, 99))}`);
  } finally {
    await stop(worker);
    await stop(web);
    await receiver?.close();
    await slack?.stop();
    await db?.drop().catch(() => {});
    await Promise.all([dropPrefix(prefix), dropPrefix(`${prefix}raw`)]).catch(() => {});
    rmSync(outboxDir, { recursive: true, force: true });
  }

  // The web process wrote its profile when it stopped: it covers start-up, the fan-out posts, ingest and the light-load posts.
  if (PROFILE) say(`\nweb process ${summariseProfile(webProfileDir)}`);

  // The report.
  say(`\n=== Twitterprise benchmark (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'}; ${Math.round((Date.now() - started) / 1000)} s) ===\n`);
  // A size's row is its median trial (by ratio); peak memory and repeats cover every trial.
  say(
    table(
      ['followers', 'fan-out time', 'deliveries/s', 'worker peak RSS', 'raw BullMQ', 'ratio (median)', 'ratios of the trials', 'repeats'],
      fanOuts.map((f) => {
        const m = medianTrial(f);
        return [
          f.n.toLocaleString('en'),
          `${seconds(m.ms)}${m.timedOut ? ` (timed out at ${m.received})` : ''}`,
          perSecond((m.received * 1000) / m.ms),
          mb(peakOf(f)),
          perSecond((f.n * 1000) / m.rawMs),
          ratioOf(f.n, m).toFixed(3),
          f.trials.map((t) => ratioOf(f.n, t).toFixed(2)).join(', '),
          String(f.trials.reduce((sum, t) => sum + t.repeats, 0)),
        ];
      }),
    ),
  );
  if (ingest) {
    say('');
    say(
      table(
        ['ingest', 'value'],
        [
          ['clients', String(INGEST_CLIENTS)],
          ['statuses accepted', `${ingest.accepted} in ${ingest.seconds.toFixed(1)} s (${perSecond(ingest.accepted / ingest.seconds)}), ${ingest.errors} errors`],
          ['POST latency p50 / p99', `${ms(percentile(ingest.lat, 50))} / ${ms(percentile(ingest.lat, 99))}`],
          ['slash ack p50 / p99 (idle)', `${ms(percentile(ingest.slashIdle, 50))} / ${ms(percentile(ingest.slashIdle, 99))}`],
          ['slash ack p50 / p99 (under load)', `${ms(percentile(ingest.slash, 50))} / ${ms(percentile(ingest.slash, 99))} (${ingest.slash.length} commands, ${ingest.slashErrors} errors)`],
        ],
      ),
    );
  }
  say('');
  say(table(['end-to-end (light load)', 'value'], [['posts', String(e2e.length)], ['post -> delivery p50 / p99', `${ms(percentile(e2e, 50))} / ${ms(percentile(e2e, 99))}`]]));

  const verdict = (ok: boolean | null) => (ok === null ? 'NOT RUN' : ok ? 'PASS' : 'MISS');
  const hundred = fanOuts.find((f) => f.n === 100_000);
  const targets: [string, string, boolean | null][] = [
    [
      'fan-out >= 1/2 raw BullMQ ceiling',
      fanOuts.map((f) => `${f.n.toLocaleString('en')}: ${ratioOf(f.n, medianTrial(f)).toFixed(3)}`).join(', '),
      fanOuts.length ? fanOuts.every((f) => f.trials.every((t) => !t.timedOut) && ratioOf(f.n, medianTrial(f)) >= 0.5) : null,
    ],
    [
      '100,000 followers, worker < 300 MB',
      hundred ? `${mb(peakOf(hundred))}${hundred.trials.some((t) => t.timedOut) ? ' (timed out)' : ''}` : 'size not run',
      hundred ? hundred.trials.every((t) => !t.timedOut) && peakOf(hundred) < 300 * 1024 * 1024 : null,
    ],
    ['slash ack p99 < 200 ms under ingest load', ingest ? ms(percentile(ingest.slash, 99)) : 'not run', ingest && ingest.slash.length ? percentile(ingest.slash, 99) < 200 && ingest.slashErrors === 0 : null],
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
    process.exit(1);
  },
);
