-- Security hardening (issue 16, docs/security.md).
-- Secrets the app generates for itself on first start (the unsubscribe-link key), never derived from configuration.
CREATE TABLE IF NOT EXISTS "app_secrets" (
  "name" text PRIMARY KEY NOT NULL,
  "value" text NOT NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- When an owner of a protected source was last told (DM and follow.requested) about one requester's request.
CREATE TABLE IF NOT EXISTS "follow_request_notices" (
  "source_id" text NOT NULL REFERENCES "sources"("id") ON DELETE CASCADE,
  "requester_kind" text NOT NULL,
  "requester_id" text NOT NULL,
  "notified_at" timestamp with time zone NOT NULL,
  PRIMARY KEY ("source_id", "requester_kind", "requester_id")
);
