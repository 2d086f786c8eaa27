import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process, built by main.ts and shared by the HTTP app and the pipeline.
 * Names follow Prometheus conventions (`_total` counters, `_seconds` histograms).
 */
export interface MetricsRegistry {
  registry: Registry;
  /** Statuses accepted, by platform (slack, teams, api, hook). The outbox relay increments it once per `status.created`, the one place every status passes. */
  statusesAccepted: Counter<'platform'>;
  /** Delivery attempts' outcomes, by route (dm, email, channel, webhook) and resulting state. */
  deliveries: Counter<'route' | 'state'>;
  /** HTTP request durations by method, route pattern (never a raw path: ids and tokens stay out) and status. */
  httpDuration: Histogram<'method' | 'route' | 'status'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): MetricsRegistry {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    statusesAccepted: new Counter({
      name: 'statuses_accepted_total',
      help: 'Statuses accepted, by the platform they came from.',
      labelNames: ['platform'] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'deliveries_total',
      help: 'Delivery outcomes, by route and resulting state.',
      labelNames: ['route', 'state'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
