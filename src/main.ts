import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRedis, describeRedis } from './redis.js';
import { applyAdminHandles } from './app/admins.js';
import type { AppContext } from './app/context.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import { systemClock, type Clock } from './core/clock.js';
import { migrateDatabase, openDatabase, pendingMigrations, type Database } from './db/client.js';
import { createHttpApp } from './http/app.js';
import { createStatusLimiter } from './http/rate-limit.js';
import { createMetrics, type MetricsRegistry } from './http/metrics.js';
import type { PipelineApi } from './http/pipeline-api.js';
import { webhookDestinationCheck } from './http/webhook-destination.js';
import { slackMode } from './integrations/slack/mode.js';
import type { Integration } from './integrations/types.js';
import type { XmppIntegration, XmppIntegrationOptions } from './integrations/xmpp/index.js';
import { createWebhookChannel } from './integrations/webhooks/channel.js';
import { createLogger, type Logger } from './log.js';
import type { Messengers } from './pipeline/messenger.js';
import type { Channel } from './pipeline/channel.js';
import { createPipeline, type Pipeline } from './pipeline/index.js';
import { readyLine } from './ready-line.js';
import { StartupError, waitForDependencies } from './runtime/dependencies.js';
import { FolderLockedError, lockFolder, type FolderLock } from './runtime/folder-lock.js';

export type Role = 'web' | 'worker' | 'all';

export interface StartOptions {
  config: Config;
  role: Role;
  clock?: Clock;
  log?: Logger;
  /** Run migrations first (npm start does; the `release` process does it for split deployments). */
  migrate?: boolean;
  /** Slack bot ids, so single-workspace mode skips auth.test at start (tests). */
  slack?: { botId?: string; botUserId?: string };
  /** Aborted by a SIGTERM during start-up: the wait for PostgreSQL and Redis stops at once. */
  signal?: AbortSignal;
  /**
   * Create and migrate a PGlite folder in a short-lived child process before opening it here (the
   * entry point does: creating the database inflates the heap of the process that does it).
   */
  prepareInChild?: boolean;
  /** How the ready line names Redis (default: from the configuration). */
  redisDescription?: string;
  /** XMPP connection tuning (tests: shorter waits). */
  xmpp?: Partial<Pick<XmppIntegrationOptions, 'waitMs' | 'pingTimeoutMs' | 'keepaliveMs' | 'leaderPollMs'>>;
}

export interface RunningApp {
  ctx: AppContext;
  /** Base URL of the HTTP server (web and all roles). */
  url: string | null;
  pipeline: Pipeline;
  metrics: MetricsRegistry;
  database: Database;
  /** The XMPP side when configured (worker roles): whether this process holds the component connection. */
  xmpp: Pick<XmppIntegration, 'leader' | 'online'> | null;
  /** Drains: stops accepting HTTP, lets running jobs finish (or return to the queue), closes connections. */
  close(): Promise<void>;
}

/** The composition root: the only place that wires concrete parts together. */
export async function startApp(opts: StartOptions): Promise<RunningApp> {
  const { config, role } = opts;
  const log = opts.log ?? createLogger(config.logLevel);
  // One process at a time in a PGlite folder (a second one would lose writes): refused with the holder's pid.
  const pgliteLock: FolderLock | null = config.databaseUrl || config.pgliteDir.includes('://') ? null : lockFolder(config.pgliteDir, `twitterprise ${role}`);
  let database: Database | undefined;
  try {
    if (pgliteLock && opts.migrate && opts.prepareInChild) {
      const { prepareInChild } = await import('./runtime/pglite-prepare.js');
      await prepareInChild(config.pgliteDir);
    }
    database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, max: config.databasePoolSize });
    await waitForDependencies({ database, databaseUrl: config.databaseUrl, redis: config.redis, log, timeoutMs: config.startupTimeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (opts.signal?.aborted) throw new StartupError('stopped during start-up');
    if (opts.migrate) await migrateDatabase(database);
    else if ((await pendingMigrations(database)) > 0) throw new StartupError('database is not migrated: run npx twitterprise migrate');
  } catch (e) {
    await database?.close().catch(() => {});
    pgliteLock?.release();
    throw e;
  }
  if (database.kind === 'pglite') log.info({ dir: config.pgliteDir }, 'using embedded PGlite (set DATABASE_URL for PostgreSQL)');

  let kick: () => void = () => {};
  const ctx: AppContext = { db: database.db, config, log, clock: opts.clock ?? systemClock, kick: () => kick() };
  // ADMIN_HANDLES always wins: listed people get the stored flag too, so chat agrees with the console and API.
  await applyAdminHandles(ctx);
  const metrics = createMetrics();
  // Integrations: each loaded (a dynamic import) and registered only when configured, so an integration
  // that is off costs no memory. Teams is always on (an empty app id means local, unauthenticated), and
  // email too (without SMTP_URL it writes .eml files). XMPP, SMS and the console follow the same pattern.
  const email = await import('./integrations/email/index.js');
  const mailer = email.createMailer(config, log.child({ name: 'email' }));
  // The unsubscribe-link key is made on the first start (docs/security.md, class 3).
  await email.ensureUnsubscribeKeys(ctx);
  const integrations: Integration[] = [];
  if (slackMode(config)) {
    const { createSlackIntegration } = await import('./integrations/slack/index.js');
    integrations.push(createSlackIntegration(ctx, opts.slack ?? {}));
  }
  {
    const { createTeamsIntegration } = await import('./integrations/teams/index.js');
    integrations.push(createTeamsIntegration(ctx));
  }
  integrations.push(email.createEmailIntegration(ctx, mailer));
  const messengers: Messengers = {};
  for (const i of integrations) if (i.messenger) messengers[i.messenger.platform] = i.messenger;

  // XMPP (SPEC section 8): every worker gets the xmpp channel; one of them (the lock's holder) the connection.
  let xmpp: XmppIntegration | null = null;
  if (config.xmpp && role !== 'web') {
    const { createXmppIntegration } = await import('./integrations/xmpp/index.js');
    xmpp = createXmppIntegration(ctx, { redis: config.redis, prefix: config.queuePrefix, ...opts.xmpp });
  }

  // SMS (SPEC section 9), only when SMS_PROVIDER is set: inbound webhook, route `sms`, codes sent at once.
  let sms: { channel: Channel } | null = null;
  if (config.sms) {
    const { createSms } = await import('./integrations/sms/index.js');
    const setup = createSms(ctx);
    integrations.push(setup.integration);
    ctx.sms = setup.sender;
    sms = setup;
  }

  // Outbound channels of integrations are registered here, and only here (the pipeline imports none).
  const channels = { webhook: createWebhookChannel({ ctx }), ...(xmpp ? { xmpp: xmpp.channel } : {}), ...(sms ? { sms: sms.channel } : {}) };
  const pipeline = await createPipeline({ ctx, redisUrl: config.redis, prefix: config.queuePrefix, messengers, metrics, role, channels });
  kick = () => pipeline.kick();
  xmpp?.start();

  const digests = role === 'web' ? null : await email.startDigestScheduler({ ctx, redisUrl: config.redis, prefix: config.queuePrefix, mailer });
  // Inputs (feeds, calendars): the worker side sweeps due inputs and polls them (src/pipeline/inputs.ts).
  const inputPolls =
    role === 'web'
      ? null
      : await (async () => {
          const [{ createInputPoller }, { startInputScheduler }] = await Promise.all([import('./integrations/inputs/poller.js'), import('./pipeline/inputs.js')]);
          return startInputScheduler({ ctx, queues: pipeline.queues, poll: createInputPoller({ ctx }) });
        })();

  let server: Server | null = null;
  let url: string | null = null;
  // Readiness must answer quickly whatever Redis does (a load balancer's probe gives up after a second or two).
  const probe = connectRedis(config.redis, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: 2000 });
  probe.on('error', () => {});
  // The status budget per token lives in Redis, shared by every web process (src/http/rate-limit.ts).
  const limits = role === 'worker' ? null : connectRedis(config.redis, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1000 });
  limits?.on('error', () => {});
  if (role !== 'worker') {
    const pipelineApi: PipelineApi = {
      sendTestEvent: (webhookId) => pipeline.sendTestEvent(webhookId),
      redeliver: (deliveryId) => pipeline.redeliver(deliveryId),
      sendDigestsNow: async () => ({ sent: (await email.sendDueDigests(ctx, { force: true, mailer })).sent.length }),
    };
    // The web console (SPEC section 10): a door over src/app, loaded only where HTTP is served, mounted last.
    const { createConsole } = await import('./console/index.js');
    const q = pipeline.queues;
    const consoleDoor = createConsole(ctx, {
      pipeline: pipelineApi,
      checkDestination: webhookDestinationCheck(config),
      queues: [q.fanOut, q.deliver, q.deliverBatch, q.retract, q.release],
    });
    const app = createHttpApp(ctx, {
      integrations: [...integrations, consoleDoor],
      metrics,
      pipeline: pipelineApi,
      statusLimiter: createStatusLimiter({ perMinute: config.statusRateLimit, redis: limits ?? undefined, prefix: config.queuePrefix }),
      readiness: async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('PostgreSQL or Redis did not answer within 3 s')), 3000);
        });
        try {
          await Promise.race([
            (async () => {
              if (probe.status === 'wait' || probe.status === 'end') await probe.connect().catch(() => {});
              await Promise.all([database.ping(), probe.ping(), pipeline.queues.fanOut.waitUntilReady()]);
            })(),
            late,
          ]);
        } finally {
          clearTimeout(timer);
        }
      },
    });
    server = createServer(app);
    // Slow clients must not hold a draining process forever.
    server.headersTimeout = 15_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, '0.0.0.0', () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    url = `http://127.0.0.1:${port}`;
    log.info({ port, role }, 'listening');
  }
  // Inbound connections (Slack Socket Mode) belong to the web side; a worker only sends.
  if (role !== 'worker') for (const i of integrations) await i.start?.();
  const port = server ? (server.address() as { port: number }).port : null;
  log.info({ role, port }, readyLine(config, role, { port, redis: opts.redisDescription ?? describeRedis(config.redis) }));

  let closing: Promise<void> | null = null;
  return {
    ctx,
    url,
    pipeline,
    metrics,
    database,
    xmpp,
    close() {
      closing ??= (async () => {
        // Every step gets what is left of SHUTDOWN_TIMEOUT (less a margin to exit in): with Redis or
        // PostgreSQL down a step may never finish, and the rest must still run. A job cut short returns
        // to the queue (its lock lapses); a status already accepted is in PostgreSQL's outbox.
        const deadline = Date.now() + Math.max(500, config.shutdownTimeoutMs - 1500);
        const within = async (what: string, step: () => Promise<unknown>, floorMs = 0) => {
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(floorMs, deadline - Date.now()))));
          const done = step().then(
            () => 'done' as const,
            (err: unknown) => log.warn({ err }, `${what}: stopping failed`),
          );
          if ((await Promise.race([done, late])) === 'late') log.warn(`${what} did not stop within SHUTDOWN_TIMEOUT; going on`);
          clearTimeout(timer);
        };
        if (server) {
          const s = server;
          await within('the HTTP server', () => new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }));
          s.closeAllConnections();
        }
        for (const i of integrations) if (i.stop) await within(`the ${i.name} integration`, () => i.stop!());
        if (xmpp) await within('the XMPP component', () => xmpp.stop());
        if (inputPolls) await within('the input poller', () => inputPolls.close());
        if (digests) await within('the digest scheduler', () => digests.close());
        await within('the queues and workers', () => pipeline.close());
        probe.disconnect();
        limits?.disconnect();
        mailer.close();
        await within('the database connection', () => database.close(), 1000);
        pgliteLock?.release();
      })();
      return closing;
    },
  };
}

function roleFrom(arg: string | undefined): Role {
  if (arg === 'web' || arg === 'worker' || arg === 'all' || arg === undefined) return arg ?? 'all';
  throw new ConfigError([`role: "${arg}" is not web, worker or all`]);
}

/** Says why a start-up failed in one sentence (a lock held, a dependency away, an unmigrated database). */
function startupProblem(e: unknown, config: Config): string | null {
  if (e instanceof StartupError) return e.message;
  if (e instanceof FolderLockedError) {
    return `${config.pgliteDir} is in use by another Twitterprise process (pid ${e.holder.pid}, ${e.holder.what}, since ${e.holder.since}); stop it first, or give this one its own PGLITE_DIR or a DATABASE_URL.`;
  }
  return null;
}

/**
 * The process: `node dist/main.js web|worker|all` (Procfile, npm start). Waits for its dependencies,
 * prints the ready line, drains on SIGTERM within SHUTDOWN_TIMEOUT and exits 0; a SIGTERM during
 * start-up exits 0 at once. Start-up problems: one line, exit 1.
 */
export async function main(argv: string[] = process.argv.slice(2), env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: Config;
  let role: Role;
  try {
    config = parseConfig(env);
    role = roleFrom(argv[0]);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.problems.join('\n')}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  const starting = new AbortController();
  let app: RunningApp | null = null;
  let privateRedis: { description: string; target: string; stop(): Promise<void>; stopNow(): void } | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!app) {
      // Nothing was accepted yet: leave at once, as a drain with nothing in flight would.
      log.info({ signal }, 'stopped during start-up');
      starting.abort();
      privateRedis?.stopNow();
      process.exit(0);
    }
    log.info({ signal }, 'draining');
    const running = app;
    // A backstop: whatever hangs, the process is gone within SHUTDOWN_TIMEOUT.
    setTimeout(() => {
      log.warn('drain did not finish within SHUTDOWN_TIMEOUT; exiting (unfinished jobs return to the queue)');
      privateRedis?.stopNow();
      process.exit(0);
    }, config.shutdownTimeoutMs).unref();
    running
      .close()
      .then(() => privateRedis?.stop())
      .then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'drain failed');
          privateRedis?.stopNow();
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    // npm start on a machine without Redis: a private redis-server (SPEC §6), when REDIS_URL is unset.
    const redisUnset = role === 'all' && !(env.REDIS_URL ?? '').trim() && !(env.REDIS_CLUSTER ?? '').trim();
    if (redisUnset) {
      const { answersPing, startPrivateRedis } = await import('./runtime/private-redis.js');
      if (!(await answersPing({ host: '127.0.0.1', port: config.localRedisPort }))) {
        privateRedis = await startPrivateRedis({ dir: './data/redis', log: log.child({ name: 'redis-server' }) });
        config = Object.freeze({ ...config, redis: privateRedis.target, redisUrl: privateRedis.target });
      } else if (config.localRedisPort !== 6379) {
        const local = `redis://127.0.0.1:${config.localRedisPort}`;
        config = Object.freeze({ ...config, redis: local, redisUrl: local });
      }
    }
    // npm start (role all) migrates before serving; split deployments run the `release` process.
    app = await startApp({
      config,
      role,
      log,
      migrate: role === 'all',
      prepareInChild: true,
      signal: starting.signal,
      ...(privateRedis ? { redisDescription: privateRedis.description } : {}),
    });
  } catch (e) {
    if (stopping) return;
    const problem = startupProblem(e, config);
    if (!problem) throw e;
    log.error(problem);
    await privateRedis?.stop();
    process.exit(1);
  }
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main().catch((err: unknown) => {
    process.stderr.write(`Twitterprise failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
