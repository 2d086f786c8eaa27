import type { RequestHandler } from 'express';
import type { Logger } from '../log.js';
import type { MetricsRegistry } from './metrics.js';

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line and one histogram sample per request, labelled by route pattern (`/api/v1/statuses/:id`),
 * never by raw path or query: hook URLs and feed links carry tokens. Bodies are never logged.
 */
export function requestLog(log: Logger, metrics: MetricsRegistry): RequestHandler {
  let seq = 0;
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    const id = ++seq;
    res.on('finish', () => {
      const pattern = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof pattern === 'string' ? `${(res.locals.routeBase as string | undefined) ?? ''}${pattern}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      const line = { req: id, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) };
      if (QUIET.has(req.path) && res.statusCode < 400) log.debug(line, 'request');
      else log.info(line, 'request');
    });
    next();
  };
}

/** Remembers where a router is mounted, so the route label is the full pattern. */
export const routeBase =
  (base: string): RequestHandler =>
  (_req, res, next) => {
    res.locals.routeBase = base;
    next();
  };
