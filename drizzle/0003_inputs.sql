-- Inputs (SPEC section 7): feeds and calendars polled into a service's statuses.
ALTER TABLE "statuses" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "statuses" ADD COLUMN "input" jsonb;--> statement-breakpoint
CREATE TABLE "inputs" (
	"id" text PRIMARY KEY NOT NULL,
	"service_id" text NOT NULL REFERENCES "sources"("id") ON DELETE cascade,
	"kind" text NOT NULL,
	"url" text NOT NULL,
	"every_s" integer DEFAULT 300 NOT NULL,
	"remind_min" integer,
	"tz" text,
	"state" text DEFAULT 'active' NOT NULL,
	"last_error" text,
	"last_polled_at" timestamp with time zone,
	"parsed_at" timestamp with time zone,
	"next_fetch_at" timestamp with time zone DEFAULT now() NOT NULL,
	"due_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_due_at" timestamp with time zone,
	"etag" text,
	"last_modified" text,
	"failing_since" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"baselined" boolean DEFAULT false NOT NULL,
	"home_url" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
CREATE INDEX "inputs_service_idx" ON "inputs" USING btree ("service_id");--> statement-breakpoint
CREATE INDEX "inputs_due_idx" ON "inputs" USING btree ("due_at") WHERE "state" <> 'disabled';--> statement-breakpoint
CREATE TABLE "input_items" (
	"input_id" text NOT NULL REFERENCES "inputs"("id") ON DELETE cascade,
	"key" text NOT NULL,
	"status_id" text,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "input_items_pk" PRIMARY KEY("input_id","key")
);--> statement-breakpoint
CREATE TABLE "input_events" (
	"input_id" text NOT NULL REFERENCES "inputs"("id") ON DELETE cascade,
	"key" text NOT NULL,
	"uid" text NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"all_day" boolean DEFAULT false NOT NULL,
	"summary" text NOT NULL,
	"location" text,
	"url" text,
	"cancelled" boolean DEFAULT false NOT NULL,
	"reminded" boolean DEFAULT false NOT NULL,
	"moved_announced" boolean DEFAULT false NOT NULL,
	"cancel_announced" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "input_events_pk" PRIMARY KEY("input_id","key")
);
