import type pg from 'pg';
import { DayKeys } from '../../src/messages/at-rest/day-keys.service.js';
import { open, seal } from '../../src/messages/at-rest/sealing.js';
import type { TestApp } from './test-app.js';

/**
 * Seals the stored rows of these messages under another day's key, as if
 * they had been stored to expire that day: with `setExpiry`, a message
 * "sent yesterday" without waiting for a day to pass. Uses the app's own
 * keys and sealing.
 */
export async function resealUnderDay(
  world: TestApp,
  messageIds: string[],
  day: string,
): Promise<void> {
  const dayKeys = world.app.get(DayKeys);
  const target = (await dayKeys.forSealing([day])).get(day)!;
  for (const [table, column] of [
    ['message_bodies', 'body'],
    ['deliveries', 'wrapped_key'],
  ]) {
    const rows = await world.pool.query<{ ctid: string; value: Buffer; keyDay: string }>(
      `SELECT ctid::text, ${column} AS value, key_day::text AS "keyDay" FROM ${table} WHERE message_id = ANY($1::uuid[])`,
      [messageIds],
    );
    const keys = await dayKeys.forOpening(rows.rows.map((row) => row.keyDay));
    for (const row of rows.rows) {
      const resealed = seal(open(row.value, keys.get(row.keyDay)!), target);
      await world.pool.query(
        `UPDATE ${table} SET ${column} = $2, key_day = $3 WHERE ctid = $1::tid AND message_id = ANY($4::uuid[])`,
        [row.ctid, resealed, day, messageIds],
      );
    }
  }
}

/** What a backup taken now would hold of a message's body: the stored bytes and their key's day. */
export async function storedBody(
  pool: pg.Pool,
  messageId: string,
): Promise<{ body: Buffer; keyDay: string | null }> {
  const result = await pool.query<{ body: Buffer; keyDay: string | null }>(
    'SELECT body, key_day::text AS "keyDay" FROM message_bodies WHERE message_id = $1',
    [messageId],
  );
  return result.rows[0];
}
