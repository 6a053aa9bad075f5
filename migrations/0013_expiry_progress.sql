CREATE TABLE "expiry_progress" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"recorded_until" timestamp with time zone DEFAULT '-infinity' NOT NULL,
	"recorded_until_id" uuid DEFAULT '00000000-0000-0000-0000-000000000000' NOT NULL,
	CONSTRAINT "expiry_progress_single_row" CHECK ("expiry_progress"."id" = 1)
);
--> statement-breakpoint
DROP INDEX "messages_expires_at_idx";--> statement-breakpoint
CREATE INDEX "messages_expires_at_id_idx" ON "messages" USING btree ("expires_at","id");