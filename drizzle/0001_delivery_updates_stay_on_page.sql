-- A delivery row is written once and updated once or twice (sent, retrying, failed). No index covers
-- `state` any more (the per-person digest and release queries use deliveries_subscriber_idx), and each
-- page keeps 30% free, so those updates can be heap-only (HOT): no new index entries per update.
-- Measured in the fan-out benchmark, where PostgreSQL was a quarter of the machine (docs/benchmarks.md).
DROP INDEX "deliveries_waiting_idx";--> statement-breakpoint
ALTER TABLE "deliveries" SET (fillfactor = 70);
