import { randomUUID } from 'node:crypto';
import type pg from 'pg';

export interface LateMessage {
  messageId: string;
  seq: number;
  commit(): Promise<void>;
}

/**
 * Inserts a copy of a pending message for `deviceId` inside a transaction left
 * open: it takes its seq now and commits only when `commit` is called, like a
 * send whose transaction is slow. The copy has a new client message id, so
 * it will not decrypt: tests of it look at ids only.
 */
export async function beginLateMessage(
  pool: pg.Pool,
  deviceId: string,
  templateMessageId: string,
): Promise<LateMessage> {
  const template = await pool.query(
    `SELECT b.body, d.wrapped_key, m.sender_account_id, m.sender_device_id, m.recipient_account_id
     FROM messages m JOIN deliveries d ON d.message_id = m.id AND d.expires_at = m.expires_at
     JOIN message_bodies b ON b.message_id = m.id AND b.expires_at = m.expires_at
     WHERE m.id = $1 AND d.device_id = $2`,
    [templateMessageId, deviceId],
  );
  if (template.rowCount !== 1)
    throw new Error('the template message is not pending for that device');
  const row = template.rows[0];
  const held = await pool.connect();
  await held.query('BEGIN');
  const inserted = await held.query(
    `INSERT INTO messages (sender_account_id, sender_device_id, client_message_id, recipient_account_id,
                           device_count, pending_count, expires_at)
     VALUES ($1, $2, $3, $4, 1, 1, now() + interval '1 hour') RETURNING id, seq`,
    [row.sender_account_id, row.sender_device_id, randomUUID(), row.recipient_account_id],
  );
  const { id, seq } = inserted.rows[0];
  // expires_at is copied inside PostgreSQL: a JS Date would drop its microseconds.
  await held.query(
    `INSERT INTO message_bodies (message_id, expires_at, body)
     SELECT id, expires_at, $2 FROM messages WHERE id = $1`,
    [id, row.body],
  );
  await held.query(
    `INSERT INTO deliveries (device_id, message_seq, message_id, expires_at, wrapped_key)
     SELECT $1, seq, id, expires_at, $3 FROM messages WHERE id = $2`,
    [deviceId, id, row.wrapped_key],
  );
  return {
    messageId: id,
    seq: Number(seq),
    async commit() {
      try {
        await held.query('COMMIT');
      } finally {
        held.release();
      }
    },
  };
}
