CREATE TABLE "at_rest_master_key" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"key" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "at_rest_master_key_single_row" CHECK ("at_rest_master_key"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "expiry_day_keys" (
	"day" date PRIMARY KEY NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "key_day" date;--> statement-breakpoint
ALTER TABLE "message_bodies" ADD COLUMN "key_day" date;--> statement-breakpoint
ALTER TABLE "held_messages" ADD COLUMN "key_day" date;