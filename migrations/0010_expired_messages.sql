CREATE TABLE "expired_messages" (
	"message_id" uuid PRIMARY KEY NOT NULL,
	"sender_account_id" uuid NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"device_count" integer NOT NULL,
	"delivered" jsonb NOT NULL,
	"expired_devices" uuid[] NOT NULL,
	"notified" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX "expired_messages_expires_at_idx" ON "expired_messages" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "expired_messages_unnotified_idx" ON "expired_messages" USING btree ("message_id") WHERE NOT "expired_messages"."notified";