CREATE TABLE "admin_credentials" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"secret_hash" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject" text,
	"details" jsonb NOT NULL,
	"prev_hash" "bytea" NOT NULL,
	"hash" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "held_messages" (
	"held_account_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"device_id" uuid NOT NULL,
	"sender_account_id" uuid NOT NULL,
	"sender_device_id" uuid NOT NULL,
	"conversation_id" uuid,
	"body" "bytea" NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"accepted_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"held_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "held_messages_held_account_id_message_id_device_id_pk" PRIMARY KEY("held_account_id","message_id","device_id")
);
--> statement-breakpoint
CREATE TABLE "legal_holds" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"placed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"placed_by" uuid NOT NULL,
	"reference" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "purge_log" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject" text,
	"details" jsonb NOT NULL,
	"prev_hash" "bytea" NOT NULL,
	"hash" "bytea" NOT NULL
);
