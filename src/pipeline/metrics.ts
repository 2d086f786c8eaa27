/**
 * The counters the pipeline feeds. main.ts passes the process's Prometheus registry; structurally
 * typed so the pipeline does not import the HTTP layer.
 */
export interface PipelineMetrics {
  statusesAccepted: { inc(labels: { platform: string }): void };
  deliveries: { inc(labels: { route: string; state: string }, value?: number): void };
}
