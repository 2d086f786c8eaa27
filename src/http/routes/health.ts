import { Router } from 'express';
import { DomainError, describeError } from '../../core/errors.js';
import type { Logger } from '../../log.js';
import type { MetricsRegistry } from '../metrics.js';
import { sendProblem } from '../problem.js';

/** Liveness, readiness and Prometheus metrics: unauthenticated, for the platform's probes and scraper. */
export function healthRoutes(deps: { publicUrl: string; log: Logger; readiness: () => Promise<void>; metrics: MetricsRegistry }): Router {
  const r = Router();

  // Liveness: answers while the event loop runs; dependencies are readiness's business.
  r.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });

  r.get('/readyz', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      await deps.readiness();
      res.json({ status: 'ready' });
    } catch (e) {
      deps.log.warn({ err: e }, 'not ready');
      const detail = e instanceof DomainError ? describeError(e) : 'Not ready: the database or Redis is not reachable.';
      sendProblem(res, deps.publicUrl, 'unavailable', detail);
    }
  });

  r.get('/metrics', async (_req, res) => {
    const body = await deps.metrics.registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(deps.metrics.registry.contentType).send(body);
  });

  return r;
}
