ALTER TABLE "conversations" DROP CONSTRAINT "conversations_created_by_account_id_accounts_id_fk";
--> statement-breakpoint
ALTER TABLE "conversations" ALTER COLUMN "created_by_account_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_created_by_account_id_accounts_id_fk" FOREIGN KEY ("created_by_account_id") REFERENCES "public"."accounts"("id") ON DELETE set null ON UPDATE no action;