import type pg from 'pg';
import { ExpiryRecordsRepository } from '../../src/messages/expiry-records.repository.js';
import { waitFor } from './wait.js';

// Every row of a message carries its expires_at (the partition key); these
// helpers move all of them at once, as if the message had been sent to
// expire then. PostgreSQL moves an updated row to the partition of its new key.
const MESSAGE_TABLES = {
  messages: 'id',
  message_bodies: 'message_id',
  deliveries: 'message_id',
  message_receipts: 'message_id',
  message_client_ids: 'message_id',
  fanout_pending: 'message_id',
} as const;

/**
 * Sets the expiry of the given messages (and of all their rows) to
 * `expiresAt`. A message sent for real never expires behind the expiry
 * record's progress (the recorder reads only up to what has committed), but
 * one moved into the past here can: the progress is moved back to just
 * before it, as if the recorder had not got that far yet. And the recorder
 * reads only up to its cutoff, the start of the oldest transaction open (a
 * send's expiry is its start plus its TTL): this waits until that cutoff
 * has passed `expiresAt` (the app's first purge, say, may still be making
 * partitions), so that a purge run next finds the messages recordable.
 */
export async function setExpiry(
  pool: pg.Pool,
  messageIds: string[],
  expiresAt: Date,
): Promise<void> {
  for (const [table, column] of Object.entries(MESSAGE_TABLES)) {
    await pool.query(`UPDATE ${table} SET expires_at = $2 WHERE ${column} = ANY($1::uuid[])`, [
      messageIds,
      expiresAt,
    ]);
  }
  await pool.query(
    `UPDATE expiry_progress
        SET recorded_until = $1::timestamptz - interval '1 millisecond',
            recorded_until_id = '00000000-0000-0000-0000-000000000000'
      WHERE recorded_until >= $1::timestamptz`,
    [expiresAt],
  );
  // (An expiry still ahead is the recorder's business later.)
  if (expiresAt.getTime() <= Date.now()) await untilRecordable(pool, expiresAt);
}

/**
 * Waits until the expiry record's cutoff (the start of the oldest
 * transaction open in the database) has passed `expiresAt`, so that a purge
 * run next can record, and then remove, what expired by then.
 */
export async function untilRecordable(pool: pg.Pool, expiresAt: Date): Promise<void> {
  const records = new ExpiryRecordsRepository(pool);
  await waitFor(
    'the expiry record’s cutoff to pass the expiry',
    async () => (await records.cutoff()) >= expiresAt,
    20_000,
  );
}

/** How many rows each message table holds for the given messages. */
export async function rowsOf(
  pool: pg.Pool,
  messageIds: string[],
): Promise<Record<keyof typeof MESSAGE_TABLES, number>> {
  const counts = {} as Record<keyof typeof MESSAGE_TABLES, number>;
  for (const [table, column] of Object.entries(MESSAGE_TABLES)) {
    const result = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = ANY($1::uuid[])`,
      [messageIds],
    );
    counts[table as keyof typeof MESSAGE_TABLES] = result.rows[0].n;
  }
  return counts;
}

/** The partitions holding the given messages' rows in `messages`. */
export async function partitionsOf(pool: pg.Pool, messageIds: string[]): Promise<string[]> {
  const result = await pool.query<{ name: string }>(
    'SELECT DISTINCT tableoid::regclass::text AS name FROM messages WHERE id = ANY($1::uuid[])',
    [messageIds],
  );
  return result.rows.map((row) => row.name).sort();
}

/** Whether a table (a partition) exists. */
export async function tableExists(pool: pg.Pool, name: string): Promise<boolean> {
  const result = await pool.query<{ found: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS found',
    [name],
  );
  return result.rows[0].found;
}

/** The UTC day of `at` as partitions name it (YYYYMMDD). */
export const partitionDay = (at: Date): string => at.toISOString().slice(0, 10).replaceAll('-', '');
