CREATE TABLE "message_client_ids" (
	"sender_device_id" uuid NOT NULL,
	"client_message_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"accepted_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "message_client_ids_sender_device_id_client_message_id_pk" PRIMARY KEY("sender_device_id","client_message_id")
);
--> statement-breakpoint
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_message_id_messages_id_fk";
--> statement-breakpoint
ALTER TABLE "fanout_pending" DROP CONSTRAINT "fanout_pending_message_id_messages_id_fk";
--> statement-breakpoint
ALTER TABLE "message_bodies" DROP CONSTRAINT "message_bodies_message_id_messages_id_fk";
--> statement-breakpoint
ALTER TABLE "message_receipts" DROP CONSTRAINT "message_receipts_message_id_messages_id_fk";
--> statement-breakpoint
DROP INDEX "messages_sender_client_id_idx";--> statement-breakpoint
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_device_id_message_seq_pk";--> statement-breakpoint
ALTER TABLE "message_receipts" DROP CONSTRAINT "message_receipts_message_id_device_id_pk";--> statement-breakpoint
ALTER TABLE "message_bodies" DROP CONSTRAINT "message_bodies_pkey";--> statement-breakpoint
ALTER TABLE "messages" DROP CONSTRAINT "messages_pkey";--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "expires_at" timestamp with time zone NOT NULL;--> statement-breakpoint
ALTER TABLE "fanout_pending" ADD COLUMN "expires_at" timestamp with time zone NOT NULL;--> statement-breakpoint
ALTER TABLE "message_bodies" ADD COLUMN "expires_at" timestamp with time zone NOT NULL;--> statement-breakpoint
ALTER TABLE "message_receipts" ADD COLUMN "expires_at" timestamp with time zone NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_device_id_message_seq_expires_at_pk" PRIMARY KEY("device_id","message_seq","expires_at");--> statement-breakpoint
ALTER TABLE "message_bodies" ADD CONSTRAINT "message_bodies_message_id_expires_at_pk" PRIMARY KEY("message_id","expires_at");--> statement-breakpoint
ALTER TABLE "message_receipts" ADD CONSTRAINT "message_receipts_message_id_device_id_expires_at_pk" PRIMARY KEY("message_id","device_id","expires_at");--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_id_expires_at_pk" PRIMARY KEY("id","expires_at");--> statement-breakpoint
CREATE INDEX "message_client_ids_expires_at_idx" ON "message_client_ids" USING btree ("expires_at");