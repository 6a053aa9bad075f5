CREATE TABLE "message_undelivered" (
	"message_id" uuid NOT NULL,
	"device_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_undelivered_message_id_device_id_pk" PRIMARY KEY("message_id","device_id")
);
--> statement-breakpoint
CREATE INDEX "message_undelivered_expires_at_idx" ON "message_undelivered" USING btree ("expires_at");