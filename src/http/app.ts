import express, { Router, type Express } from 'express';
import type { AppContext } from '../app/context.js';
import type { DestinationCheck } from '../app/webhooks.js';
import type { UrlGuard } from '../app/inputs.js';
import type { Integration } from '../integrations/types.js';
import { apiDocsRoutes } from './api-docs.js';
import { requireAuth } from './auth.js';
import { bodyLimit, jsonBody } from '../web/body-limit.js';
import type { MetricsRegistry } from './metrics.js';
import type { PipelineApi } from './pipeline-api.js';
import { createStatusLimiter, type StatusLimiter } from './rate-limit.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { errorHandler, notFoundHandler, problemDocs, refuseNulInUrl } from './problem.js';
import { requestLog, routeBase } from './request-log.js';
import { adminRoutes } from './routes/admin.js';
import { directoryRoutes } from './routes/directory.js';
import { feedRoutes } from './routes/feeds.js';
import { followRoutes } from './routes/follows.js';
import { healthRoutes } from './routes/health.js';
import { inputRoutes } from './routes/inputs.js';
import { hookRoutes } from './routes/hooks.js';
import { sourceRoutes } from './routes/sources.js';
import { statusPageRoutes } from './routes/status-page.js';
import { statusRoutes } from './routes/statuses.js';
import { tokenRoutes } from './routes/tokens.js';
import { webhookRoutes } from './routes/webhooks.js';
import { webhookDestinationCheck } from './webhook-destination.js';

export interface HttpAppOptions {
  /** Mounted in order, after the API and before the 404 handler (Slack, Teams, email unsubscribe). */
  integrations: Integration[];
  /** Resolves when PostgreSQL and Redis answer; throws otherwise (GET /readyz). */
  readiness: () => Promise<void>;
  metrics: MetricsRegistry;
  pipeline: PipelineApi;
  /**
   * Counts statuses per token (STATUS_RATE_LIMIT); defaults to counting in this process's memory. The
   * web role passes one on Redis, so that every web process shares the budget.
   */
  statusLimiter?: StatusLimiter;
  /** Where a webhook URL may point; defaults to the SSRF guard with ALLOW_PRIVATE_URLS. */
  checkWebhookDestination?: DestinationCheck;
  /** Where input URLs may point (default: the private-address guard with ALLOW_PRIVATE_URLS). */
  inputGuard?: UrlGuard;
}

/**
 * The one express app: /api/v1, /hooks, /feeds, health and metrics, plus whatever integrations mount.
 * There is no global body parser: Bolt reads the raw body to check Slack's signature, so every
 * router brings its own parser, all limited to 64 KiB.
 */
export function createHttpApp(ctx: AppContext, opts: HttpAppOptions): Express {
  const log = ctx.log.child({ name: 'http' });
  const publicUrl = ctx.config.publicUrl;
  const app = express();
  app.disable('x-powered-by');
  const limiter = opts.statusLimiter ?? createStatusLimiter({ perMinute: ctx.config.statusRateLimit, prefix: ctx.config.queuePrefix });

  app.use(requestLog(log, opts.metrics));
  app.use(bodyLimit());
  app.use(refuseNulInUrl());
  app.use(healthRoutes({ publicUrl, log, readiness: opts.readiness, metrics: opts.metrics }));
  app.get('/problems/:code', problemDocs);

  // The one /api/v1 path without a token, and the reference page (before the API's requireAuth).
  app.use(apiDocsRoutes(app, { publicUrl }));

  const api = Router();
  api.use(requireAuth(ctx));
  api.use(jsonBody());
  api.use(statusRoutes(ctx, limiter));
  api.use(sourceRoutes(ctx));
  api.use(directoryRoutes(ctx));
  api.use(tokenRoutes(ctx));
  api.use(followRoutes(ctx));
  api.use(webhookRoutes(ctx, { pipeline: opts.pipeline, checkDestination: opts.checkWebhookDestination ?? webhookDestinationCheck(ctx.config) }));
  api.use(adminRoutes(ctx, { pipeline: opts.pipeline }));
  api.use(inputRoutes(ctx, opts.inputGuard ? { guard: opts.inputGuard } : {}));
  app.use('/api/v1', routeBase('/api/v1'), api);
  app.use('/hooks', routeBase('/hooks'), hookRoutes(ctx, limiter));
  app.use('/feeds', routeBase('/feeds'), feedRoutes(ctx));
  app.use(statusPageRoutes(ctx));

  for (const integration of opts.integrations) integration.mount?.(app);

  app.use(methodNotAllowed(app, publicUrl));
  app.use(notFoundHandler(publicUrl));
  app.use(errorHandler(publicUrl, log));
  return app;
}
