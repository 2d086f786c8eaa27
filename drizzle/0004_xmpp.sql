-- XMPP (SPEC section 8): addresses that wrote to or subscribed through the component, the person each is
-- linked to (after `link xmpp` + `confirm`), and the pending link codes (only their SHA-256 is kept).
CREATE TABLE "xmpp_addresses" (
	"jid" text PRIMARY KEY NOT NULL,
	"person_id" text,
	"linked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "xmpp_addresses_person_id_sources_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."sources"("id") ON DELETE set null ON UPDATE no action
);
--> statement-breakpoint
CREATE INDEX "xmpp_addresses_person_idx" ON "xmpp_addresses" USING btree ("person_id");
--> statement-breakpoint
CREATE TABLE "xmpp_link_codes" (
	"id" text PRIMARY KEY NOT NULL,
	"person_id" text NOT NULL,
	"jid" text NOT NULL,
	"hash" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "xmpp_link_codes_person_id_sources_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action
);
--> statement-breakpoint
CREATE INDEX "xmpp_link_codes_jid_idx" ON "xmpp_link_codes" USING btree ("jid");
