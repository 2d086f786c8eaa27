-- SMS (SPEC section 9): one phone number per person, its verification (only the code's SHA-256 is kept),
-- its STOP state, and what waited while the number was over SMS_PER_HOUR; plus every status text sent,
-- so the cap counts the texts of the last 60 minutes across all workers.
CREATE TABLE "sms_numbers" (
	"person_id" text PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"verified_at" timestamp with time zone,
	"code_hash" text,
	"code_expires_at" timestamp with time zone,
	"code_tries" integer DEFAULT 0 NOT NULL,
	"stopped_at" timestamp with time zone,
	"waiting" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"summary_delivery_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sms_numbers_person_id_sources_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX "sms_numbers_number_uq" ON "sms_numbers" USING btree ("number");
--> statement-breakpoint
CREATE TABLE "sms_sends" (
	"delivery_id" text PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sms_sends_number_idx" ON "sms_sends" USING btree ("number","sent_at");
