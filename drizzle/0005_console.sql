-- Web console (SPEC section 10): one-time sign-in links, browser sessions, and when an API token was last used.
CREATE TABLE "sign_in_links" (
	"id" text PRIMARY KEY NOT NULL,
	"person_id" text NOT NULL REFERENCES "sources"("id") ON DELETE cascade,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "sign_in_links_hash_uq" ON "sign_in_links" USING btree ("hash");
--> statement-breakpoint
CREATE TABLE "console_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"person_id" text NOT NULL REFERENCES "sources"("id") ON DELETE cascade,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "console_sessions_hash_uq" ON "console_sessions" USING btree ("hash");
--> statement-breakpoint
CREATE INDEX "console_sessions_person_idx" ON "console_sessions" USING btree ("person_id");
--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "last_used_at" timestamp with time zone;
