-- Custom migration (drizzle-kit cannot express partitioning). The four
-- message tables become PARTITION BY RANGE (expires_at): one partition per
-- UTC day, named <table>_pYYYYMMDD and holding [day 00:00, next day 00:00),
-- plus a DEFAULT partition each, so an insert never fails for want of a
-- partition. The purge drops a day's partitions whole once the day is over.
-- Same columns, keys and indexes as the drizzle schema (0003 snapshot); the
-- tables were emptied by 0002, so they are simply created again.
DROP TABLE message_receipts, deliveries, message_bodies, messages;
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "messages_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"sender_account_id" uuid NOT NULL,
	"sender_device_id" uuid NOT NULL,
	"client_message_id" uuid NOT NULL,
	"recipient_account_id" uuid,
	"conversation_id" uuid,
	"device_count" integer NOT NULL,
	"pending_count" integer NOT NULL,
	"accepted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "messages_id_expires_at_pk" PRIMARY KEY("id","expires_at")
) PARTITION BY RANGE ("expires_at");
--> statement-breakpoint
CREATE TABLE "message_bodies" (
	"message_id" uuid NOT NULL,
	"body" "bytea" NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "message_bodies_message_id_expires_at_pk" PRIMARY KEY("message_id","expires_at")
) PARTITION BY RANGE ("expires_at");
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"device_id" uuid NOT NULL,
	"message_seq" bigint NOT NULL,
	"message_id" uuid NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "deliveries_device_id_message_seq_expires_at_pk" PRIMARY KEY("device_id","message_seq","expires_at")
) PARTITION BY RANGE ("expires_at");
--> statement-breakpoint
CREATE TABLE "message_receipts" (
	"message_id" uuid NOT NULL,
	"device_id" uuid NOT NULL,
	"acked_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "message_receipts_message_id_device_id_expires_at_pk" PRIMARY KEY("message_id","device_id","expires_at")
) PARTITION BY RANGE ("expires_at");
--> statement-breakpoint
CREATE INDEX "messages_expires_at_idx" ON "messages" USING btree ("expires_at");
--> statement-breakpoint
CREATE INDEX "deliveries_message_idx" ON "deliveries" USING btree ("message_id");
--> statement-breakpoint
CREATE TABLE "messages_default" PARTITION OF "messages" DEFAULT;
--> statement-breakpoint
CREATE TABLE "message_bodies_default" PARTITION OF "message_bodies" DEFAULT;
--> statement-breakpoint
CREATE TABLE "deliveries_default" PARTITION OF "deliveries" DEFAULT;
--> statement-breakpoint
CREATE TABLE "message_receipts_default" PARTITION OF "message_receipts" DEFAULT;
--> statement-breakpoint
-- Creates the missing daily partitions of the four tables for every UTC day
-- that [from_ts, to_ts] touches; returns how many days it created. Idempotent
-- (a day whose partitions exist costs four catalog look-ups and no lock). A
-- day's four partitions are created together or not at all: when the DEFAULT
-- partition already holds rows of that day (PostgreSQL then refuses the new
-- partition), the day is skipped with a NOTICE and its rows stay in DEFAULT,
-- where the purge's DELETE path removes them at expiry.
CREATE FUNCTION ensure_expiry_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  parents CONSTANT text[] := ARRAY['messages', 'message_bodies', 'deliveries', 'message_receipts'];
  day date := (from_ts AT TIME ZONE 'UTC')::date;
  last_day CONSTANT date := (to_ts AT TIME ZONE 'UTC')::date;
  parent text;
  created integer := 0;
BEGIN
  WHILE day <= last_day LOOP
    IF EXISTS (
      SELECT 1 FROM unnest(parents) AS p(name)
      WHERE to_regclass(format('%I', p.name || '_p' || to_char(day, 'YYYYMMDD'))) IS NULL
    ) THEN
      BEGIN
        FOREACH parent IN ARRAY parents LOOP
          EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
            parent || '_p' || to_char(day, 'YYYYMMDD'), parent,
            day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
        END LOOP;
        created := created + 1;
      EXCEPTION
        WHEN check_violation THEN
          RAISE NOTICE 'expiry partitions of % skipped: % (its rows stay in the DEFAULT partitions)', day, SQLERRM;
        WHEN duplicate_table OR unique_violation THEN
          NULL; -- created meanwhile by a concurrent caller
      END;
    END IF;
    day := day + 1;
  END LOOP;
  RETURN created;
END;
$$;
--> statement-breakpoint
-- The daily partitions (of the four tables) whose whole day is over by
-- `cutoff`: the purge detaches and drops these. Found by name, attached or
-- not (a purge that stopped between DETACH and DROP leaves one detached).
CREATE FUNCTION expiry_partitions_ended_by(cutoff timestamptz)
RETURNS TABLE (partition_name text, parent_name text, attached boolean) LANGUAGE sql STABLE AS $$
  SELECT c.relname::text, substring(c.relname FROM '^(.*)_p\d{8}$'), c.relispartition
  FROM pg_class c
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
    AND c.relname ~ '^(messages|message_bodies|deliveries|message_receipts)_p\d{8}$'
    AND (to_date(substring(c.relname FROM '_p(\d{8})$'), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff
  ORDER BY substring(c.relname FROM '_p(\d{8})$'), c.relname
$$;
--> statement-breakpoint
SELECT ensure_expiry_partitions(now(), now() + interval '32 days');
