import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRedis, describeRedis } from './redis.js';
import type { AppContext } from './app/context.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import { systemClock, type Clock } from './core/clock.js';
import { migrateDatabase, openDatabase, type Database } from './db/client.js';
import { createHttpApp } from './http/app.js';
import { createStatusLimiter } from './http/rate-limit.js';
import { createMetrics, type MetricsRegistry } from './http/metrics.js';
import type { PipelineApi } from './http/pipeline-api.js';
import { slackMode } from './integrations/slack/mode.js';
import type { Integration } from './integrations/types.js';
import { createLogger, type Logger } from './log.js';
import type { Messengers } from './pipeline/messenger.js';
import { createPipeline, type Pipeline } from './pipeline/index.js';
import { readyLine } from './ready-line.js';

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
}

export interface RunningApp {
  ctx: AppContext;
  /** Base URL of the HTTP server (web and all roles). */
  url: string | null;
  pipeline: Pipeline;
  metrics: MetricsRegistry;
  database: Database;
  /** Drains: stops accepting HTTP, lets running jobs finish (or return to the queue), closes connections. */
  close(): Promise<void>;
}

/** The composition root: the only place that wires concrete parts together. */
export async function startApp(opts: StartOptions): Promise<RunningApp> {
  const { config, role } = opts;
  const log = opts.log ?? createLogger(config.logLevel);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir });
  if (opts.migrate) await migrateDatabase(database);
  if (database.kind === 'pglite') log.info({ dir: config.pgliteDir }, 'using embedded PGlite (set DATABASE_URL for PostgreSQL)');

  let kick: () => void = () => {};
  const ctx: AppContext = { db: database.db, config, log, clock: opts.clock ?? systemClock, kick: () => kick() };
  const metrics = createMetrics();
  // Integrations: each loaded (a dynamic import) and registered only when configured, so an integration
  // that is off costs no memory. Teams is always on (an empty app id means local, unauthenticated), and
  // email too (without SMTP_URL it writes .eml files). XMPP, SMS and the console follow the same pattern.
  const email = await import('./integrations/email/index.js');
  const mailer = email.createMailer(config, log.child({ name: 'email' }));
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

  const pipeline = await createPipeline({ ctx, redisUrl: config.redis, prefix: config.queuePrefix, messengers, metrics, role });
  kick = () => pipeline.kick();

  const digests = role === 'web' ? null : await email.startDigestScheduler({ ctx, redisUrl: config.redis, prefix: config.queuePrefix, mailer });

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
    const app = createHttpApp(ctx, {
      integrations,
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
              await Promise.all([database.ping(), probe.ping()]);
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
  log.info({ role, port }, readyLine(config, role, { port, redis: describeRedis(config.redis) }));

  let closing: Promise<void> | null = null;
  return {
    ctx,
    url,
    pipeline,
    metrics,
    database,
    close() {
      closing ??= (async () => {
        if (server) {
          const s = server;
          await new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          });
        }
        for (const i of integrations) await i.stop?.().catch((err: unknown) => log.warn({ err, name: i.name }, 'integration stop failed'));
        await digests?.close();
        await pipeline.close();
        probe.disconnect();
        limits?.disconnect();
        mailer.close();
        await database.close();
      })();
      return closing;
    },
  };
}

function roleFrom(arg: string | undefined): Role {
  if (arg === 'web' || arg === 'worker' || arg === 'all' || arg === undefined) return arg ?? 'all';
  throw new ConfigError([`role: "${arg}" is not web, worker or all`]);
}

async function main(): Promise<void> {
  let config: Config;
  let role: Role;
  try {
    config = parseConfig();
    role = roleFrom(process.argv[2]);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.problems.join('\n')}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  // npm start (role all) migrates before serving; split deployments run the `release` process.
  const app = await startApp({ config, role, log, migrate: role === 'all' });
  const stop = (signal: string) => {
    log.info({ signal }, 'draining');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main().catch((err: unknown) => {
    process.stderr.write(`Twitterprise failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
