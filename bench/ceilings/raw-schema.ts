import pg from 'pg';

// Scratch tables of the raw ceilings, in the bench database beside the
// server's own. They copy the shape of a stored message (one row with the
// body, one delivery row per device, the same keys and indexes), so a bare
// client writing them does the same work the server must do at least.

export const RAW_TABLES = {
  messages: 'bench_raw_messages',
  deliveries: 'bench_raw_deliveries',
} as const;

/**
 * What one accepted message costs at least: one message row with a 1 KiB
 * body and its three delivery rows, atomically, durably (synchronous_commit
 * on), in one round trip (a data-modifying CTE is one statement, so one
 * transaction). $1-$4: sender account, sender device, client message id,
 * recipient account; $5: the body; $6-$11: three (device id, wrapped key).
 */
export const RAW_MESSAGE_INSERT = `
WITH m AS (
  INSERT INTO ${RAW_TABLES.messages}
    (sender_account_id, sender_device_id, client_message_id, recipient_account_id,
     body, device_count, pending_count, expires_at)
  VALUES ($1, $2, $3, $4, $5, 3, 3, now() + interval '7 days')
  RETURNING id, seq)
INSERT INTO ${RAW_TABLES.deliveries} (device_id, message_seq, message_id, wrapped_key)
SELECT d.device_id, m.seq, m.id, d.wrapped_key
  FROM m CROSS JOIN (VALUES ($6::uuid, $7::bytea), ($8::uuid, $9::bytea), ($10::uuid, $11::bytea))
    AS d(device_id, wrapped_key)`;

/** Runs `work` with the scratch message tables made afresh, and drops them after. */
export async function withRawMessageTables<T>(
  databaseUrl: string,
  work: () => Promise<T>,
): Promise<T> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const drop = `DROP TABLE IF EXISTS ${RAW_TABLES.deliveries}, ${RAW_TABLES.messages}`;
  try {
    await admin.query(drop);
    await admin.query(messageTablesDdl(RAW_TABLES.messages, RAW_TABLES.deliveries));
    return await work();
  } finally {
    await admin.query(drop);
    await admin.end();
  }
}

export function messageTablesDdl(messages: string, deliveries: string): string {
  return `${messageTablesOnlyDdl(messages, deliveries)}\n${messageIndexesDdl(messages, deliveries)}`;
}

/** The tables with their primary keys only (bulk seeding is faster without the rest). */
export function messageTablesOnlyDdl(messages: string, deliveries: string): string {
  return `
CREATE TABLE ${messages} (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
  sender_account_id uuid NOT NULL,
  sender_device_id uuid NOT NULL,
  client_message_id uuid NOT NULL,
  recipient_account_id uuid,
  conversation_id uuid,
  body bytea,
  device_count integer NOT NULL,
  pending_count integer NOT NULL,
  accepted_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  fanned_out_at timestamptz
);
CREATE TABLE ${deliveries} (
  device_id uuid NOT NULL,
  message_seq bigint NOT NULL,
  message_id uuid NOT NULL,
  wrapped_key bytea NOT NULL,
  PRIMARY KEY (device_id, message_seq)
);`;
}

/** The secondary indexes and the cascading foreign key of the stored shape. */
export function messageIndexesDdl(messages: string, deliveries: string): string {
  return `
CREATE UNIQUE INDEX ${messages}_sender_client_idx ON ${messages} (sender_device_id, client_message_id);
CREATE INDEX ${messages}_expires_idx ON ${messages} (expires_at);
CREATE INDEX ${messages}_not_fanned_idx ON ${messages} (accepted_at) WHERE fanned_out_at IS NULL;
ALTER TABLE ${deliveries} ADD FOREIGN KEY (message_id) REFERENCES ${messages}(id) ON DELETE CASCADE;
CREATE INDEX ${deliveries}_message_idx ON ${deliveries} (message_id);`;
}
