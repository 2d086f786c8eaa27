/**
 * What the HTTP API asks of the delivery pipeline. main.ts wires it to the real functions
 * (pipeline `sendTestEvent` / `redeliver`, email `sendDueDigests(ctx, { force: true })`),
 * so src/http never imports the pipeline.
 */
export interface PipelineApi {
  /** Queues a `webhook.test` event to one endpoint now. */
  sendTestEvent(webhookId: string): Promise<{ deliveryId: string }>;
  /** Re-sends one delivery (same `webhook-id`); throws a DomainError when it cannot be re-sent. */
  redeliver(deliveryId: string): Promise<void>;
  /** Sends every digest that has content, ignoring the schedule. */
  sendDigestsNow(): Promise<{ sent: number }>;
}
